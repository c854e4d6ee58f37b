import type { VaultRecord } from '../../storage/metadata/types.js';
import { vaultInventory, type VaultInventory } from '../../domain/inventory.js';
import type { OpContext } from '../types.js';

/** The figures DescribeVault and ListVaults report: the vault's inventory in the configured mode. */
export function vaultCounts(ctx: OpContext, v: VaultRecord): VaultInventory {
  return vaultInventory(ctx.app.config.inventoryMode, v);
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
