import type { Config } from '../config/schema.js';
import type { JobAction, Tier } from '../domain/jobs.js';

const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;

/** [min, max] completion time per kind of job, by FIRN_RETRIEVAL_TIMING mode. */
const TABLE: Record<'fast' | 'aws', Record<Tier | 'Inventory', [number, number]>> = {
  // moto uses 2 s, 5 s and 10 s for the three tiers.
  fast: { Expedited: [2 * S, 2 * S], Standard: [5 * S, 5 * S], Bulk: [10 * S, 10 * S], Inventory: [5 * S, 5 * S] },
  // DG downloading-an-archive: "Expedited 1–5 minutes, Standard 3–5 hours, Bulk 5–12 hours"; inventory jobs have
  // no tier and "most jobs take about four hours".
  aws: { Expedited: [1 * MIN, 5 * MIN], Standard: [3 * H, 5 * H], Bulk: [5 * H, 12 * H], Inventory: [3 * H, 5 * H] },
};

/** How long after initiation a job becomes due, in ms. */
export function jobDelayMs(config: Config, action: JobAction, tier: Tier | null, random: () => number = Math.random): number {
  const kind: Tier | 'Inventory' = action === 'InventoryRetrieval' ? 'Inventory' : (tier ?? 'Standard');
  const override = { Expedited: config.timingExpedited, Standard: config.timingStandard, Bulk: config.timingBulk, Inventory: config.timingInventory }[kind];
  if (override !== null) return override;
  if (config.retrievalTiming === 'instant') return 0;
  const [lo, hi] = TABLE[config.retrievalTiming][kind];
  return lo + Math.floor(random() * (hi - lo + 1));
}
