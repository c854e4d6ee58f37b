import type { PgDb, Tx } from './db.js';
import { lockKey } from './db.js';
import type { AdmissionRequest, AdmissionSnapshot, CapacityUnitRecord, DataRetrievalPolicyRecord, RetrievalStrategy, SettingsRepo } from '../types.js';

const DAY_MS = 24 * 3_600_000;

interface CapacityRow {
  capacity_id: string;
  account_id: string;
  region: string;
  start_at: number;
  expires_at: number;
}

/** bytes_per_hour is read as text so that it stays exact (a bigint) up to 2^63−1. */
interface PolicyRow {
  strategy: RetrievalStrategy;
  bytes_per_hour: string | null;
}

const GET_POLICY = 'SELECT strategy, bytes_per_hour::text AS bytes_per_hour FROM data_retrieval_policies WHERE account_id = $1 AND region = $2';

const toPolicy = (r: PolicyRow | undefined): DataRetrievalPolicyRecord | null =>
  r ? { strategy: r.strategy, bytesPerHour: r.bytes_per_hour === null ? null : BigInt(r.bytes_per_hour) } : null;

const toUnit = (r: CapacityRow): CapacityUnitRecord => ({
  capacityId: r.capacity_id,
  accountId: r.account_id,
  region: r.region,
  startAt: r.start_at,
  expiresAt: r.expires_at,
});

/**
 * Per account and region settings: data-retrieval policy, provisioned capacity, retrieval ledger.
 * Admission and capacity purchases take a transaction-scoped advisory lock on (account, region):
 * the rows they count may not exist yet, so there is no row to lock instead.
 */
export class PgSettingsRepo implements SettingsRepo {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  async lockAccountRegionIn(c: Tx, accountId: string, region: string): Promise<void> {
    await c.query('SELECT pg_advisory_xact_lock($1::bigint)', [lockKey(this.#db.schema, `retrieval\0${accountId}\0${region}`).toString()]);
  }

  async getRetrievalPolicy(accountId: string, region: string): Promise<DataRetrievalPolicyRecord | null> {
    return toPolicy(await this.#db.one<PolicyRow>(GET_POLICY, [accountId, region]));
  }

  async setRetrievalPolicy(accountId: string, region: string, p: DataRetrievalPolicyRecord, now: number) {
    await this.#db.tx(async (c) => {
      await this.lockAccountRegionIn(c, accountId, region);
      await c.query(
        `INSERT INTO data_retrieval_policies (account_id, region, strategy, bytes_per_hour, updated_at) VALUES ($1, $2, $3, $4::bigint, $5)
         ON CONFLICT (account_id, region) DO UPDATE SET strategy = excluded.strategy, bytes_per_hour = excluded.bytes_per_hour, updated_at = excluded.updated_at`,
        [accountId, region, p.strategy, p.strategy === 'BytesPerHour' && p.bytesPerHour !== null ? p.bytesPerHour.toString() : null, now],
      );
    });
  }

  async purchaseCapacity(u: CapacityUnitRecord, maxUnits: number) {
    return this.#db.tx(async (c) => {
      await this.lockAccountRegionIn(c, u.accountId, u.region);
      const n = (await c.query<{ n: number }>('SELECT COUNT(*) AS n FROM provisioned_capacity WHERE account_id = $1 AND region = $2 AND expires_at > $3', [u.accountId, u.region, u.startAt])).rows[0]!.n;
      if (n >= maxUnits) return false;
      await c.query('INSERT INTO provisioned_capacity (capacity_id, account_id, region, start_at, expires_at) VALUES ($1, $2, $3, $4, $5)', [
        u.capacityId,
        u.accountId,
        u.region,
        u.startAt,
        u.expiresAt,
      ]);
      return true;
    });
  }

  async listCapacity(accountId: string, region: string, now: number) {
    return (
      await this.#db.rows<CapacityRow>('SELECT * FROM provisioned_capacity WHERE account_id = $1 AND region = $2 AND expires_at > $3 ORDER BY start_at, capacity_id', [
        accountId,
        region,
        now,
      ])
    ).map(toUnit);
  }

  /** The admission decision inside the caller's transaction: lock, snapshot, decide, record. */
  async admitIn<E>(c: Tx, req: AdmissionRequest, decide: (s: AdmissionSnapshot) => E | null): Promise<E | null> {
    const { accountId, region, now } = req;
    await this.lockAccountRegionIn(c, accountId, region);
    const policy = toPolicy((await c.query<PolicyRow>(GET_POLICY, [accountId, region])).rows[0]) ?? { strategy: 'None', bytesPerHour: null };
    const r = (
      await c.query<{ rate: number; day: number; expedited: number; units: number }>(
        `SELECT
           (SELECT COALESCE(SUM(bytes), 0)::bigint FROM retrieval_ledger WHERE account_id = $1 AND region = $2 AND tier = 'Standard' AND created_at > $3) AS rate,
           (SELECT COALESCE(SUM(bytes), 0)::bigint FROM retrieval_ledger WHERE account_id = $1 AND region = $2 AND tier = 'Standard' AND created_at > $4) AS day,
           (SELECT COUNT(*) FROM retrieval_ledger WHERE account_id = $1 AND region = $2 AND tier = 'Expedited' AND created_at > $5) AS expedited,
           (SELECT COUNT(*) FROM provisioned_capacity WHERE account_id = $1 AND region = $2 AND expires_at > $6) AS units`,
        [accountId, region, now - req.standardRateWindowMs, now - DAY_MS, now - req.expeditedWindowMs, now],
      )
    ).rows[0]!;
    const snapshot: AdmissionSnapshot = {
      policy,
      standardBytesInRateWindow: r.rate,
      standardBytesLastDay: r.day,
      expeditedInWindow: r.expedited,
      activeCapacityUnits: r.units,
    };
    const verdict = decide(snapshot);
    if (verdict !== null) return verdict;
    await c.query('INSERT INTO retrieval_ledger (account_id, region, tier, bytes, created_at) VALUES ($1, $2, $3, $4, $5)', [accountId, region, req.tier, req.bytes, now]);
    await c.query('DELETE FROM retrieval_ledger WHERE account_id = $1 AND region = $2 AND created_at <= $3', [
      accountId,
      region,
      now - Math.max(DAY_MS, req.standardRateWindowMs, req.expeditedWindowMs),
    ]);
    return null;
  }

  async admitRetrieval<E>(req: AdmissionRequest, decide: (s: AdmissionSnapshot) => E | null): Promise<E | null> {
    return this.#db.tx((c) => this.admitIn(c, req, decide));
  }
}
