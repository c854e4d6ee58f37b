import { Errors } from '../../domain/errors.js';
import { ctxVaultArn, requireVault } from '../common.js';
import type { Handler } from '../types.js';
import { vaultDeletable } from './counts.js';

/**
 * DELETE /{a}/vaults/{v} → 204. Refused while the vault holds archives, and in `daily` inventory
 * mode also while the last snapshot is non-empty or the vault was written since:
 * 400 `Vault not empty or recently written to: <ARN>` (DG api-vault-delete, glacier-vault-remove). The check and the
 * deletion are one unit of the store, which also removes the vault's jobs, their output blobs'
 * references and its multipart uploads: nothing of a deleted vault is reachable afterwards.
 */
export const DeleteVault: Handler = async (ctx, input) => {
  const v = await requireVault(ctx, input);
  const r = await ctx.app.store.vaults.delete(v.id, (row) => vaultDeletable(ctx, row), ctx.now);
  if (!r.deleted) {
    if (r.reason === 'not-found') throw Errors.resourceNotFound(`Vault not found for ARN: ${ctxVaultArn(ctx, v.name)}`);
    throw Errors.invalidParameter(`Vault not empty or recently written to: ${ctxVaultArn(ctx, v.name)}`);
  }
  // The jobs' output blobs and pinned archive blobs were released in the same unit: collect them.
  ctx.app.blobMaintenance.kick();
  ctx.app.log.info({ account: ctx.accountId, region: ctx.region, vault: v.name }, 'vault deleted');
  return { status: 204 };
};
