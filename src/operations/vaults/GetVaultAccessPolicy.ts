import { Errors } from '../../domain/errors.js';
import { ctxVaultArn, requireVault } from '../common.js';
import type { Handler } from '../types.js';

/** GET …/access-policy → `{"Policy":"…"}` (flat); 404 when none is set. */
export const GetVaultAccessPolicy: Handler = async (ctx, input) => {
  const v = await requireVault(ctx, input);
  const p = await ctx.app.store.vaults.getAccessPolicy(v.id);
  if (p === null) throw Errors.resourceNotFound(`No vault access policy is set for: ${ctxVaultArn(ctx, v.name)}`);
  return { status: 200, json: { Policy: p } };
};
