import { requireVault } from '../common.js';
import type { Handler } from '../types.js';

/** DELETE …/access-policy → 204, idempotent even with no policy. */
export const DeleteVaultAccessPolicy: Handler = async (ctx, input) => {
  const v = await requireVault(ctx, input);
  await ctx.app.store.vaults.deleteAccessPolicy(v.id);
  return { status: 204 };
};
