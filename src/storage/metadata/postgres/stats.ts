import { expectedVersion, type PgDb } from './db.js';
import type { OperationalStats, StatsRepo } from '../types.js';

/** Numbers for `/_firn/metrics` and `/_firn/ready`; as cheap as SQLite's (no archive scan). */
export class PgStatsRepo implements StatsRepo {
  readonly #db: PgDb;
  readonly #expected = expectedVersion();

  constructor(db: PgDb) {
    this.#db = db;
  }

  async snapshot(): Promise<OperationalStats> {
    const r = (await this.#db.one<{
      vaults: number;
      archives: number;
      bytes: number;
      depth: number;
      due: number | null;
      pending: number;
      failing: number;
      oldest: number | null;
    }>(`SELECT
        (SELECT COUNT(*) FROM vaults) AS vaults,
        (SELECT COALESCE(SUM(number_of_archives), 0)::bigint FROM vaults) AS archives,
        (SELECT COALESCE(SUM(size_in_bytes), 0)::bigint FROM vaults) AS bytes,
        (SELECT COUNT(*) FROM job_queue) AS depth,
        (SELECT MIN(due_at) FROM job_queue) AS due,
        (SELECT COUNT(*) FROM notification_outbox WHERE delivered_at IS NULL) AS pending,
        (SELECT COUNT(*) FROM notification_outbox WHERE delivered_at IS NULL AND attempts > 0) AS failing,
        (SELECT MIN(created_at) FROM notification_outbox WHERE delivered_at IS NULL) AS oldest`))!;
    const jobs: Record<string, number> = {};
    for (const j of await this.#db.rows<{ status: string; n: number }>('SELECT status, COUNT(*) AS n FROM jobs GROUP BY status')) jobs[j.status] = j.n;
    return {
      vaults: r.vaults,
      archives: r.archives,
      archiveBytes: r.bytes,
      jobQueueDepth: r.depth,
      oldestQueuedDueAt: r.due,
      jobsByStatus: jobs,
      outboxPending: r.pending,
      outboxFailing: r.failing,
      outboxOldestPendingAt: r.oldest,
    };
  }

  async schema(): Promise<{ applied: number; expected: number }> {
    const r = await this.#db.one<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations');
    return { applied: r?.v ?? 0, expected: this.#expected };
  }
}
