import { requireVault } from '../common.js';
import type { Handler } from '../types.js';

/** DELETE …/notification-configuration → 204, idempotent. */
export const DeleteVaultNotifications: Handler = async (ctx, input) => {
  const v = await requireVault(ctx, input);
  await ctx.app.store.vaults.deleteNotifications(v.id);
  return { status: 204 };
};
