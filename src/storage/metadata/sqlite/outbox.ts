import type { SqliteDb } from './db.js';
import type { InProcessSignals } from './signals.js';
import type { OutboxRecord, OutboxRepo } from '../types.js';

interface OutboxRow {
  id: number;
  topic_arn: string;
  message: string;
  created_at: number;
  next_attempt_at: number;
  attempts: number;
  last_error: string | null;
  delivered_at: number | null;
}

const toRecord = (r: OutboxRow): OutboxRecord => ({
  id: r.id,
  topicArn: r.topic_arn,
  message: r.message,
  createdAt: r.created_at,
  nextAttemptAt: r.next_attempt_at,
  attempts: r.attempts,
  lastError: r.last_error,
  deliveredAt: r.delivered_at,
});

/** The notification outbox (table from 003_jobs.sql): rows are claimed with a lease, then marked. */
export class SqliteOutboxRepo implements OutboxRepo {
  readonly #db: SqliteDb;
  readonly #signals: InProcessSignals;
  readonly #s;

  constructor(db: SqliteDb, signals: InProcessSignals) {
    this.#db = db;
    this.#signals = signals;
    this.#s = {
      insert: db.prepare('INSERT INTO notification_outbox (topic_arn, message, created_at, next_attempt_at) VALUES (?, ?, ?, ?)'),
      due: db.prepare('SELECT * FROM notification_outbox WHERE delivered_at IS NULL AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?'),
      lease: db.prepare('UPDATE notification_outbox SET attempts = attempts + 1, next_attempt_at = ? WHERE id = ?'),
      delivered: db.prepare('UPDATE notification_outbox SET delivered_at = ?, last_error = NULL WHERE id = ? AND delivered_at IS NULL'),
      failed: db.prepare('UPDATE notification_outbox SET last_error = ?, next_attempt_at = ? WHERE id = ? AND delivered_at IS NULL'),
      nextDue: db.prepare('SELECT MIN(next_attempt_at) AS t FROM notification_outbox WHERE delivered_at IS NULL'),
      get: db.prepare('SELECT * FROM notification_outbox WHERE id = ?'),
      pending: db.prepare('SELECT COUNT(*) AS n FROM notification_outbox WHERE delivered_at IS NULL'),
      rescheduleAll: db.prepare('UPDATE notification_outbox SET next_attempt_at = ? WHERE delivered_at IS NULL AND next_attempt_at > ?'),
    };
  }

  async enqueue(items: { topicArn: string; message: string }[], now: number) {
    this.#db.transaction(() => {
      for (const i of items) this.#s.insert.run(i.topicArn, i.message, now, now);
    })();
    if (items.length > 0) this.#signals.emit('outbox');
  }

  async claimDue(now: number, limit: number, leaseMs: number) {
    return this.#db
      .transaction(() => {
        const rows = this.#s.due.all(now, limit) as OutboxRow[];
        for (const r of rows) {
          this.#s.lease.run(now + leaseMs, r.id);
          r.attempts += 1;
          r.next_attempt_at = now + leaseMs;
        }
        return rows.map(toRecord);
      })
      .immediate();
  }

  async markDelivered(id: number, now: number) {
    this.#s.delivered.run(now, id);
  }

  async markFailed(id: number, error: string, nextAttemptAt: number) {
    this.#s.failed.run(error.slice(0, 2000), nextAttemptAt, id);
  }

  async nextDueAt() {
    return (this.#s.nextDue.get() as { t: number | null }).t;
  }

  async get(id: number) {
    const r = this.#s.get.get(id) as OutboxRow | undefined;
    return r ? toRecord(r) : null;
  }

  async pendingCount() {
    return (this.#s.pending.get() as { n: number }).n;
  }

  async rescheduleAll(now: number) {
    return this.#s.rescheduleAll.run(now, now).changes;
  }
}
