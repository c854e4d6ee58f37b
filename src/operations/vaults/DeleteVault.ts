import { Errors } from '../../domain/errors.js';
import { ctxVaultArn, requireVault } from '../common.js';
import type { Handler } from '../types.js';
import { vaultDeletable } from './counts.js';

/**
 * DELETE /{a}/vaults/{v} → 204. Refused while the vault holds archives, and in `daily` inventory
 * mode also while the last snapshot is non-empty or the vault was written since:
 * 400 `Vault not empty or recently written to: <ARN>` (DG api-vault-delete, glacier-vault-remove#2).
 */
export const DeleteVault: Handler = async (ctx, input) => {
  const v = await requireVault(ctx, input);
  if (!vaultDeletable(ctx, v)) {
    throw Errors.invalidParameter(`Vault not empty or recently written to: ${ctxVaultArn(ctx, v.name)}`);
  }
  await ctx.app.store.vaults.delete(v.id);
  ctx.app.log.info({ account: ctx.accountId, region: ctx.region, vault: v.name }, 'vault deleted');
  return { status: 204 };
};
