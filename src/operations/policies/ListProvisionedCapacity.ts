import { isoMs } from '../../lib/clock.js';
import type { Handler } from '../types.js';

/** GET /{a}/provisioned-capacity → `{"ProvisionedCapacityList":[{CapacityId,ExpirationDate,StartDate}]}`, unexpired units, oldest first. */
export const ListProvisionedCapacity: Handler = async (ctx) => {
  const units = await ctx.app.store.settings.listCapacity(ctx.accountId, ctx.region, ctx.now);
  return {
    status: 200,
    json: {
      ProvisionedCapacityList: units.map((u) => ({ CapacityId: u.capacityId, ExpirationDate: isoMs(u.expiresAt), StartDate: isoMs(u.startAt) })),
    },
  };
};
