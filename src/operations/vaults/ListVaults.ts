import { Errors } from '../../domain/errors.js';
import { parseVaultArn, vaultArn } from '../../domain/arn.js';
import { describeVaultJson, parseLimit } from '../common.js';
import type { Handler } from '../types.js';
import { vaultCounts } from './counts.js';

/**
 * GET /{a}/vaults?limit&marker. ASCII order by name. `limit` 1–1000, default 10 (DG api-vaults-get).
 * The marker is the ARN of the first vault of the next page (the DG example treats it
 * inclusively), and the response Marker is the next unreturned vault's ARN, or null.
 */
export const ListVaults: Handler = async (ctx, input) => {
  const limit = parseLimit(input, 10, 1000);
  const marker = input.query.get('marker');
  let from: string | null = null;
  if (marker) {
    const parsed = parseVaultArn(marker);
    if (!parsed || parsed.accountId !== ctx.accountId || parsed.region !== ctx.region) {
      throw Errors.invalidParameter(`Invalid marker: ${marker}`);
    }
    from = parsed.vaultName;
  }
  const rows = await ctx.app.store.vaults.list(ctx.accountId, ctx.region, from, limit + 1);
  const page = rows.slice(0, limit);
  const next = rows.length > limit ? rows[limit]! : null;
  return {
    status: 200,
    json: {
      Marker: next ? vaultArn(next.region, next.accountId, next.name) : null,
      VaultList: page.map((v) => describeVaultJson(v, vaultCounts(ctx, v))),
    },
  };
};
