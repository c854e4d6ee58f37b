import { Errors } from '../../domain/errors.js';
import { shortId } from '../../domain/ids.js';
import type { Handler } from '../types.js';

/** DG api-PurchaseProvisionedCapacity: "You can purchase up to two provisioned capacity units per AWS account." */
export const MAX_CAPACITY_UNITS = 2;

/**
 * One month after `start`, to the second: the same day of the next month, or that month's last day
 * when it is shorter (Jan 31 → Feb 28). The DG sample truncates the milliseconds:
 * StartDate 2017-01-31T14:26:33.031Z → ExpirationDate 2017-02-28T14:26:33.000Z.
 */
export function capacityExpiry(start: number): number {
  const d = new Date(start);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth() + 1;
  const lastDay = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  return Date.UTC(y, m, Math.min(d.getUTCDate(), lastDay), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), 0);
}

/** POST /{a}/provisioned-capacity → 201 with `x-amz-capacity-id`; a third unexpired unit → LimitExceededException. */
export const PurchaseProvisionedCapacity: Handler = async (ctx) => {
  const unit = { capacityId: shortId(), accountId: ctx.accountId, region: ctx.region, startAt: ctx.now, expiresAt: capacityExpiry(ctx.now) };
  const ok = await ctx.app.store.settings.purchaseCapacity(unit, MAX_CAPACITY_UNITS);
  if (!ok) {
    throw Errors.limitExceeded(`You have reached the limit of ${MAX_CAPACITY_UNITS} provisioned capacity units for this account`);
  }
  return { status: 201, headers: { 'x-amz-capacity-id': unit.capacityId } };
};
