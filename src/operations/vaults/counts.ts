import type { VaultRecord } from '../../storage/metadata/types.js';
import type { OpContext } from '../types.js';

/**
 * The figures DescribeVault and ListVaults report. In the default `live` inventory mode they are
 * the current counts; the `daily` mode (AWS-like) reports the last snapshot.
 */
export function vaultCounts(_ctx: OpContext, v: VaultRecord) {
  return { numberOfArchives: v.numberOfArchives, sizeInBytes: v.sizeInBytes, lastInventoryAt: v.lastInventoryAt };
}
