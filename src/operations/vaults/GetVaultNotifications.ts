import { Errors } from '../../domain/errors.js';
import { ctxVaultArn, requireVault } from '../common.js';
import type { Handler } from '../types.js';

/** GET …/notification-configuration → `{"SNSTopic","Events"}` (flat); 404 when none is set. */
export const GetVaultNotifications: Handler = async (ctx, input) => {
  const v = await requireVault(ctx, input);
  const n = await ctx.app.store.vaults.getNotifications(v.id);
  if (!n) throw Errors.resourceNotFound(`No notification configuration is set for vault: ${ctxVaultArn(ctx, v.name)}`);
  return { status: 200, json: { Events: n.events, SNSTopic: n.snsTopic } };
};
