import type { PgDb } from './db.js';
import { notify } from './signals.js';
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

/** The notification outbox: rows are claimed with a lease (FOR UPDATE SKIP LOCKED), then marked. */
export class PgOutboxRepo implements OutboxRepo {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  async enqueue(items: { topicArn: string; message: string }[], now: number) {
    if (items.length === 0) return;
    await this.#db.tx(async (c) => {
      await c.query(
        'INSERT INTO notification_outbox (topic_arn, message, created_at, next_attempt_at) SELECT t, m, $3, $3 FROM unnest($1::text[], $2::text[]) AS x(t, m)',
        [items.map((i) => i.topicArn), items.map((i) => i.message), now],
      );
      await notify(c, this.#db.schema, 'outbox');
    });
  }

  async claimDue(now: number, limit: number, leaseMs: number) {
    // One statement: the due rows are locked (rows another worker holds are skipped) and leased.
    const r = await this.#db.query<OutboxRow & { due: number }>(
      `WITH due AS (
         SELECT id, next_attempt_at AS due FROM notification_outbox WHERE delivered_at IS NULL AND next_attempt_at <= $1
         ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
       UPDATE notification_outbox o SET attempts = o.attempts + 1, next_attempt_at = $3 FROM due WHERE o.id = due.id
       RETURNING o.*, due.due`,
      [now, limit, now + leaseMs],
    );
    return r.rows.sort((a, b) => a.due - b.due || a.id - b.id).map(toRecord);
  }

  async markDelivered(id: number, now: number) {
    await this.#db.query('UPDATE notification_outbox SET delivered_at = $1, last_error = NULL WHERE id = $2 AND delivered_at IS NULL', [now, id]);
  }

  async markFailed(id: number, error: string, nextAttemptAt: number) {
    await this.#db.query('UPDATE notification_outbox SET last_error = $1, next_attempt_at = $2 WHERE id = $3 AND delivered_at IS NULL', [error.slice(0, 2000), nextAttemptAt, id]);
  }

  async nextDueAt() {
    return (await this.#db.one<{ t: number | null }>('SELECT MIN(next_attempt_at) AS t FROM notification_outbox WHERE delivered_at IS NULL'))!.t;
  }

  async get(id: number) {
    const r = await this.#db.one<OutboxRow>('SELECT * FROM notification_outbox WHERE id = $1', [id]);
    return r ? toRecord(r) : null;
  }

  async pendingCount() {
    return (await this.#db.one<{ n: number }>('SELECT COUNT(*) AS n FROM notification_outbox WHERE delivered_at IS NULL'))!.n;
  }

  async rescheduleAll(now: number) {
    return (await this.#db.query('UPDATE notification_outbox SET next_attempt_at = $1 WHERE delivered_at IS NULL AND next_attempt_at > $1', [now])).rowCount ?? 0;
  }
}
