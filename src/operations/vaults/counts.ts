import type { VaultRecord } from '../../storage/metadata/types.js';
import type { OpContext } from '../types.js';

/**
 * The figures DescribeVault and ListVaults report. In the default `live` inventory mode they are
 * the current counts. In `daily` mode (AWS-like) they are "as of the last inventory, not live"
 * (DG api-vault-get): 0, 0 and a null LastInventoryDate before the first snapshot.
 */
export function vaultCounts(ctx: OpContext, v: VaultRecord) {
  if (ctx.app.config.inventoryMode === 'daily') {
    return { numberOfArchives: v.inventoryNumberOfArchives, sizeInBytes: v.inventorySizeInBytes, lastInventoryAt: v.lastInventoryAt };
  }
  return { numberOfArchives: v.numberOfArchives, sizeInBytes: v.sizeInBytes, lastInventoryAt: v.lastInventoryAt };
}

/**
 * DeleteVault "succeeds only if the vault had no archives as of the last inventory AND there have
 * been no writes since that inventory" (DG api-vault-get). `live` mode only asks that it hold no archives.
 */
export function vaultDeletable(ctx: OpContext, v: VaultRecord): boolean {
  if (v.numberOfArchives > 0) return false;
  if (ctx.app.config.inventoryMode !== 'daily') return true;
  if (v.inventoryNumberOfArchives > 0) return false;
  if (v.lastWriteAt !== null && (v.lastInventoryAt === null || v.lastWriteAt >= v.lastInventoryAt)) return false;
  return true;
}
