import type { SqliteDb } from './db.js';
import type {
  AdmissionRequest,
  AdmissionSnapshot,
  CapacityUnitRecord,
  DataRetrievalPolicyRecord,
  RetrievalStrategy,
  SettingsRepo,
} from '../types.js';

const DAY_MS = 24 * 3_600_000;

interface CapacityRow {
  capacity_id: string;
  account_id: string;
  region: string;
  start_at: number;
  expires_at: number;
}

interface PolicyRow {
  strategy: RetrievalStrategy;
  bytes_per_hour: bigint | null;
}

const toPolicy = (r: PolicyRow | undefined): DataRetrievalPolicyRecord | null =>
  r ? { strategy: r.strategy, bytesPerHour: r.bytes_per_hour } : null;

const toUnit = (r: CapacityRow): CapacityUnitRecord => ({
  capacityId: r.capacity_id,
  accountId: r.account_id,
  region: r.region,
  startAt: r.start_at,
  expiresAt: r.expires_at,
});

/** Per account and region settings: data-retrieval policy, provisioned capacity, retrieval ledger. */
export class SqliteSettingsRepo implements SettingsRepo {
  readonly #db: SqliteDb;
  readonly #s;

  constructor(db: SqliteDb) {
    this.#db = db;
    this.#s = {
      // safeIntegers: bytes_per_hour is read as a bigint, exact up to 2^63−1 (a number would round it).
      getPolicy: db.prepare('SELECT strategy, bytes_per_hour FROM data_retrieval_policies WHERE account_id = ? AND region = ?').safeIntegers(true),
      putPolicy: db.prepare(
        `INSERT INTO data_retrieval_policies (account_id, region, strategy, bytes_per_hour, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (account_id, region) DO UPDATE SET strategy = excluded.strategy, bytes_per_hour = excluded.bytes_per_hour,
           updated_at = excluded.updated_at`,
      ),
      countUnits: db.prepare('SELECT COUNT(*) AS n FROM provisioned_capacity WHERE account_id = ? AND region = ? AND expires_at > ?'),
      insertUnit: db.prepare('INSERT INTO provisioned_capacity (capacity_id, account_id, region, start_at, expires_at) VALUES (?, ?, ?, ?, ?)'),
      listUnits: db.prepare(
        'SELECT * FROM provisioned_capacity WHERE account_id = ? AND region = ? AND expires_at > ? ORDER BY start_at, capacity_id',
      ),
      sumBytes: db.prepare(
        "SELECT COALESCE(SUM(bytes), 0) AS n FROM retrieval_ledger WHERE account_id = ? AND region = ? AND tier = 'Standard' AND created_at > ?",
      ),
      countTier: db.prepare('SELECT COUNT(*) AS n FROM retrieval_ledger WHERE account_id = ? AND region = ? AND tier = ? AND created_at > ?'),
      record: db.prepare('INSERT INTO retrieval_ledger (account_id, region, tier, bytes, created_at) VALUES (?, ?, ?, ?, ?)'),
      prune: db.prepare('DELETE FROM retrieval_ledger WHERE created_at <= ?'),
    };
  }

  async getRetrievalPolicy(accountId: string, region: string): Promise<DataRetrievalPolicyRecord | null> {
    return toPolicy(this.#s.getPolicy.get(accountId, region) as PolicyRow | undefined);
  }

  async setRetrievalPolicy(accountId: string, region: string, p: DataRetrievalPolicyRecord, now: number) {
    this.#s.putPolicy.run(accountId, region, p.strategy, p.strategy === 'BytesPerHour' ? p.bytesPerHour : null, now);
  }

  async purchaseCapacity(u: CapacityUnitRecord, maxUnits: number) {
    return this.#db
      .transaction(() => {
        const { n } = this.#s.countUnits.get(u.accountId, u.region, u.startAt) as { n: number };
        if (n >= maxUnits) return false;
        this.#s.insertUnit.run(u.capacityId, u.accountId, u.region, u.startAt, u.expiresAt);
        return true;
      })
      .immediate();
  }

  async listCapacity(accountId: string, region: string, now: number) {
    return (this.#s.listUnits.all(accountId, region, now) as CapacityRow[]).map(toUnit);
  }

  /**
   * The admission decision inside the caller's transaction (which must be IMMEDIATE): reads the
   * snapshot, asks `decide`, and records an admitted retrieval in the ledger.
   */
  admitSync<E>(req: AdmissionRequest, decide: (s: AdmissionSnapshot) => E | null): E | null {
    const { accountId, region, now } = req;
    const snapshot: AdmissionSnapshot = {
      policy: toPolicy(this.#s.getPolicy.get(accountId, region) as PolicyRow | undefined) ?? { strategy: 'None', bytesPerHour: null },
      standardBytesInRateWindow: (this.#s.sumBytes.get(accountId, region, now - req.standardRateWindowMs) as { n: number }).n,
      standardBytesLastDay: (this.#s.sumBytes.get(accountId, region, now - DAY_MS) as { n: number }).n,
      expeditedInWindow: (this.#s.countTier.get(accountId, region, 'Expedited', now - req.expeditedWindowMs) as { n: number }).n,
      activeCapacityUnits: (this.#s.countUnits.get(accountId, region, now) as { n: number }).n,
    };
    const verdict = decide(snapshot);
    if (verdict !== null) return verdict;
    this.#s.record.run(accountId, region, req.tier, req.bytes, now);
    this.#s.prune.run(now - Math.max(DAY_MS, req.standardRateWindowMs, req.expeditedWindowMs));
    return null;
  }

  async admitRetrieval<E>(req: AdmissionRequest, decide: (s: AdmissionSnapshot) => E | null): Promise<E | null> {
    // IMMEDIATE: the read and the ledger insert are one serialised step, so concurrent requests
    // cannot both squeeze under a limit that has room for one of them.
    return this.#db.transaction(() => this.admitSync(req, decide)).immediate();
  }
}
