import { describeVaultJson, requireVault } from '../common.js';
import type { Handler } from '../types.js';
import { vaultCounts } from './counts.js';

/** GET /{a}/vaults/{v} → 200 with all six keys. */
export const DescribeVault: Handler = async (ctx, input) => {
  const v = await requireVault(ctx, input);
  return { status: 200, json: describeVaultJson(v, vaultCounts(ctx, v)) };
};
