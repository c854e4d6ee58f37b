import { Errors, type GlacierError } from '../domain/errors.js';
import type { OpContext } from '../operations/types.js';
import type { Admission, AdmissionSnapshot } from '../storage/metadata/types.js';

export interface RetrievalRequest {
  vaultId: number;
  tier: 'Expedited' | 'Standard' | 'Bulk';
  /** Bytes this archive retrieval will read (the requested range). */
  bytes: number;
}

const HOUR_MS = 3_600_000;
/**
 * DG "Data Retrieval Policies": the retrieval rate of a job is its bytes spread evenly over four
 * hours. A Standard retrieval therefore counts against the hourly rate for the four hours after it
 * was initiated, whether or not its output is already available.
 */
export const RATE_SPREAD_HOURS = 4;
export const RATE_WINDOW_MS = RATE_SPREAD_HOURS * HOUR_MS;
/** DG provisioned capacity: "at least three expedited retrievals can be performed every five minutes". */
export const EXPEDITED_WINDOW_MS = 5 * 60_000;
export const EXPEDITED_PER_UNIT = 3;

export interface AdmissionLimits {
  freeTierBytesPerDay: number;
  provisionedCapacity: 'unlimited' | 'enforce';
}

/**
 * The decision, as a pure function of what the ledger holds: null admits the retrieval, an error
 * rejects it. Only Standard retrievals are subject to the data-retrieval policy and only Expedited
 * ones to provisioned capacity (DG data-retrieval-policy, DG downloading-an-archive); Bulk is never limited.
 */
export function decideAdmission(tier: RetrievalRequest['tier'], bytes: number, s: AdmissionSnapshot, limits: AdmissionLimits): GlacierError | null {
  if (tier === 'Standard') {
    const { strategy, bytesPerHour } = s.policy;
    if (strategy === 'BytesPerHour' && bytesPerHour !== null) {
      // "a retrieval request is rejected if it would cause the peak retrieval rate of the
      // in-progress retrieval jobs to exceed the bytes-per-hour limit"
      // Compared exactly, in bigints: rate > bytesPerHour ⇔ bytes > bytesPerHour × 4 (up to 2^63−1).
      const rate = (s.standardBytesInRateWindow + bytes) / RATE_SPREAD_HOURS;
      if (BigInt(s.standardBytesInRateWindow + bytes) > bytesPerHour * BigInt(RATE_SPREAD_HOURS)) {
        return Errors.policyEnforced(
          `The retrieval of ${bytes} bytes would raise the retrieval rate to ${Math.ceil(rate)} bytes per hour, over the ${bytesPerHour} bytes per hour allowed by the data retrieval policy (BytesPerHour)`,
        );
      }
    } else if (strategy === 'FreeTier') {
      const total = s.standardBytesLastDay + bytes;
      if (total > limits.freeTierBytesPerDay) {
        return Errors.policyEnforced(
          `The retrieval of ${bytes} bytes would bring the last 24 hours' retrievals to ${total} bytes, over the free tier allowance of ${limits.freeTierBytesPerDay} bytes per day set by the data retrieval policy (FreeTier)`,
        );
      }
    }
    return null;
  }
  if (tier === 'Expedited' && limits.provisionedCapacity === 'enforce') {
    const allowed = s.activeCapacityUnits * EXPEDITED_PER_UNIT;
    if (s.expeditedInWindow + 1 > allowed) {
      return Errors.insufficientCapacity(
        s.activeCapacityUnits === 0
          ? 'There is no provisioned capacity available for Expedited retrievals. Purchase provisioned capacity or use the Standard or Bulk tier.'
          : `The provisioned capacity (${s.activeCapacityUnits} unit${s.activeCapacityUnits === 1 ? '' : 's'}, ${allowed} Expedited retrievals per 5 minutes) is in use. Try again later or use the Standard or Bulk tier.`,
      );
    }
  }
  return null;
}

/**
 * Admission control for archive retrievals at InitiateJob: the data-retrieval policy
 * (PolicyEnforcedException, Standard tier only) and provisioned capacity
 * (InsufficientCapacityException, Expedited only), as the store runs it inside the unit that
 * creates the job (JobRepo.create): an admitted retrieval is recorded in the retrieval ledger with
 * its job; a rejected one leaves no trace ("rejected jobs are not stored"). Jobs admitted earlier
 * are never revisited, so a policy change does not affect jobs already in progress. Null for Bulk,
 * which is never limited.
 */
export function retrievalAdmission(ctx: OpContext, req: RetrievalRequest): Admission<GlacierError> | null {
  if (req.tier === 'Bulk') return null;
  const limits: AdmissionLimits = {
    freeTierBytesPerDay: ctx.app.config.freeTierBytesPerDay,
    provisionedCapacity: ctx.app.config.provisionedCapacity,
  };
  return {
    request: {
      accountId: ctx.accountId,
      region: ctx.region,
      tier: req.tier,
      bytes: req.bytes,
      now: ctx.now,
      standardRateWindowMs: RATE_WINDOW_MS,
      expeditedWindowMs: EXPEDITED_WINDOW_MS,
    },
    decide: (s) => decideAdmission(req.tier, req.bytes, s, limits),
  };
}

/** The same decision without a job (the ledger row alone), in one unit: what tests of the rules use. */
export async function admitRetrieval(ctx: OpContext, req: RetrievalRequest): Promise<void> {
  const a = retrievalAdmission(ctx, req);
  if (!a) return;
  const rejection = await ctx.app.store.settings.admitRetrieval(a.request, a.decide);
  if (rejection) throw rejection;
}
