import { migrationFiles, type SqliteDb } from './db.js';
import type { OperationalStats, StatsRepo } from '../types.js';

/**
 * Numbers for `/_firn/metrics` and `/_firn/ready`. Every query is cheap however many archives
 * there are: archive totals are sums of the per-vault counters the archive transactions keep,
 * the queue and outbox queries read indexes of rows still to do, and `jobs` holds only jobs
 * inside their retention window.
 */
export class SqliteStatsRepo implements StatsRepo {
  readonly #db: SqliteDb;
  readonly #s;
  readonly #expectedVersion: number;

  constructor(db: SqliteDb) {
    this.#db = db;
    this.#s = {
      vaults: db.prepare('SELECT COUNT(*) AS vaults, COALESCE(SUM(number_of_archives), 0) AS archives, COALESCE(SUM(size_in_bytes), 0) AS bytes FROM vaults'),
      queue: db.prepare('SELECT COUNT(*) AS depth FROM job_queue'),
      oldestDue: db.prepare('SELECT MIN(due_at) AS due FROM job_queue'),
      jobs: db.prepare('SELECT status, COUNT(*) AS n FROM jobs GROUP BY status'),
      outbox: db.prepare(
        'SELECT COUNT(*) AS pending, COALESCE(SUM(attempts > 0), 0) AS failing, MIN(created_at) AS oldest FROM notification_outbox WHERE delivered_at IS NULL',
      ),
      schema: db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations'),
    };
    this.#expectedVersion = Math.max(0, ...migrationFiles().map((m) => m.version));
  }

  async snapshot(): Promise<OperationalStats> {
    const v = this.#s.vaults.get() as { vaults: number; archives: number; bytes: number };
    const q = this.#s.queue.get() as { depth: number };
    const due = (this.#s.oldestDue.get() as { due: number | null }).due;
    const jobs: Record<string, number> = {};
    for (const r of this.#s.jobs.all() as { status: string; n: number }[]) jobs[r.status] = r.n;
    const o = this.#s.outbox.get() as { pending: number; failing: number; oldest: number | null };
    return {
      vaults: v.vaults,
      archives: v.archives,
      archiveBytes: v.bytes,
      jobQueueDepth: q.depth,
      oldestQueuedDueAt: due,
      jobsByStatus: jobs,
      outboxPending: o.pending,
      outboxFailing: o.failing,
      outboxOldestPendingAt: o.oldest,
    };
  }

  async schema(): Promise<{ applied: number; expected: number }> {
    if (!this.#db.open) throw new Error('the database is closed');
    return { applied: (this.#s.schema.get() as { v: number }).v, expected: this.#expectedVersion };
  }
}
