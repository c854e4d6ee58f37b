import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { OutboxRecord, OutboxRepo, Signals } from '../storage/metadata/types.js';
import type { Sink } from './sinks.js';

/** Picks the sink of a topic ARN (SinkRouter; a fake in tests). */
export interface Router {
  route(topicArn: string): Sink;
  close(): void;
}

export interface NotificationWorkerOptions {
  outbox: OutboxRepo;
  router: Router;
  clock: Clock;
  log: Logger;
  /** Real-time interval between scans when nothing is due sooner. */
  pollMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Time limit of one delivery attempt. */
  timeoutMs: number;
  /** Failures of one notification from which on each failure is a warning. */
  warnAfter: number;
  /** Rows claimed per pass, delivered concurrently. */
  batchSize?: number;
  /**
   * Whether this process is the only one using the storage (openStorage's `exclusive`). Then start
   * makes every pending row due now: leases held by a killed predecessor are void, and rows backing
   * off after failures get a fresh attempt. Servers sharing one database do not, so that a
   * restarting node does not steal rows another node is delivering.
   */
  exclusive: boolean;
  /**
   * The store's signals: the worker wakes on every 'outbox' signal (rows written by any process
   * sharing the store), besides its poll and local `wake()` calls.
   */
  signals?: Signals;
}

/** Floor of the retry delay, so that a zero base cannot make a failing row due again at once. */
export const MIN_RETRY_DELAY_MS = 50;

/** Delay before the next attempt after `attempts` failed ones: base · 2^(attempts−1), capped, +0–10 % jitter. */
export function retryDelay(attempts: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempts - 1, 0), 40));
  return Math.max(MIN_RETRY_DELAY_MS, Math.round(exp * (1 + random() * 0.1)));
}

/**
 * Delivers the notification outbox at least once. Rows are written by the job system in the
 * transaction that completes a job; this worker claims due rows with a lease, hands each to its
 * sink, and marks it delivered or reschedules it with exponential backoff on the injected clock.
 * Everything it needs is in the database, so a restart simply carries on; a process killed
 * mid-delivery retries that row once its lease lapses.
 */
export class NotificationWorker {
  readonly #o: Required<Omit<NotificationWorkerOptions, 'signals'>> & Pick<NotificationWorkerOptions, 'signals'>;
  #timer: NodeJS.Timeout | null = null;
  #running = false;
  /** Passes run one after another; deliverDue() queues behind the current one. */
  #chain: Promise<unknown> = Promise.resolve();
  #unsubscribe: (() => void) | null = null;
  #unlisten: Promise<(() => Promise<void>) | null> = Promise.resolve(null);
  readonly #abort = new AbortController();

  constructor(opts: NotificationWorkerOptions) {
    this.#o = { batchSize: 16, ...opts };
  }

  /** Lease of a claimed row: long enough for the attempt to finish or time out. */
  get leaseMs(): number {
    return this.#o.timeoutMs + 5000;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    const clock = this.#o.clock as Clock & { onAdvance?: (l: () => void) => () => void };
    // Moving domain time may make backed-off rows due at once.
    if (typeof clock.onAdvance === 'function') this.#unsubscribe = clock.onAdvance(() => this.wake());
    const signals = this.#o.signals;
    if (signals) {
      this.#unlisten = signals.listen('outbox', () => this.wake()).catch((e: unknown) => {
        this.#o.log.warn({ err: e }, 'could not listen for outbox signals; relying on polling');
        return null;
      });
    }
    if (this.#o.exclusive) {
      const reset = this.#chain.then(async () => {
        const n = await this.#o.outbox.rescheduleAll(this.#o.clock.now());
        if (n > 0) this.#o.log.info({ pending: n }, 'job notifications left from a previous run are being delivered');
      });
      this.#chain = reset.catch((e: unknown) => this.#o.log.error({ err: e }, 'could not reschedule pending notifications'));
    }
    this.wake();
  }

  /** Runs a pass soon (the job system may call this after writing outbox rows). */
  wake(): void {
    if (!this.#running) return;
    this.#schedule(0);
  }

  /** Delivers every row due now, repeating until none is left; resolves with the number delivered. */
  deliverDue(): Promise<number> {
    const p = this.#chain.then(() => this.#drain());
    this.#chain = p.catch(() => undefined);
    return p;
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    const unlisten = await this.#unlisten;
    this.#unlisten = Promise.resolve(null);
    await unlisten?.().catch(() => {});
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    // In-flight attempts are abandoned; their rows stay leased and are retried after a restart.
    this.#abort.abort();
    await this.#chain;
    this.#o.router.close();
  }

  #schedule(delayMs: number): void {
    if (!this.#running) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.deliverDue()
        .catch((e: unknown) => this.#o.log.error({ err: e }, 'notification worker pass failed'))
        .then(() => this.#scheduleNext());
    }, delayMs);
    this.#timer.unref();
  }

  async #scheduleNext(): Promise<void> {
    if (!this.#running) return;
    let delay = this.#o.pollMs;
    try {
      const next = await this.#o.outbox.nextDueAt();
      if (next !== null) delay = Math.max(10, Math.min(delay, next - this.#o.clock.now()));
    } catch {
      // The store is closing or busy; the regular poll picks things up again.
    }
    if (this.#running && !this.#timer) this.#schedule(delay);
  }

  async #drain(): Promise<number> {
    let delivered = 0;
    for (;;) {
      if (this.#abort.signal.aborted) return delivered;
      const rows = await this.#o.outbox.claimDue(this.#o.clock.now(), this.#o.batchSize, this.leaseMs);
      if (rows.length === 0) return delivered;
      const results = await Promise.all(rows.map((r) => this.#deliverOne(r)));
      delivered += results.filter(Boolean).length;
    }
  }

  async #deliverOne(row: OutboxRecord): Promise<boolean> {
    const { router, outbox, clock, log } = this.#o;
    const sink = router.route(row.topicArn);
    const signal = AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#o.timeoutMs)]);
    try {
      await sink.deliver({ id: row.id, topicArn: row.topicArn, message: row.message, createdAt: row.createdAt, attempts: row.attempts }, signal);
    } catch (e) {
      if (this.#abort.signal.aborted) return false;
      const error = describeError(e);
      const delay = retryDelay(row.attempts, this.#o.retryBaseMs, this.#o.retryMaxMs);
      const nextAttemptAt = clock.now() + delay;
      await outbox.markFailed(row.id, error, nextAttemptAt);
      const fields = { notificationId: row.id, topicArn: row.topicArn, sink: sink.kind, attempts: row.attempts, error, retryInMs: delay };
      if (row.attempts >= this.#o.warnAfter) log.warn(fields, 'job notification keeps failing; will retry');
      else log.debug(fields, 'job notification failed; will retry');
      return false;
    }
    await outbox.markDelivered(row.id, clock.now());
    log.debug({ notificationId: row.id, topicArn: row.topicArn, sink: sink.kind, attempts: row.attempts }, 'job notification delivered');
    return true;
  }
}

function describeError(e: unknown): string {
  if (e instanceof Error) {
    const cause = (e as Error & { cause?: unknown }).cause;
    const code = (e as Error & { code?: string }).code;
    const parts = [e.name && e.name !== 'Error' ? `${e.name}: ${e.message}` : e.message];
    if (code) parts.push(`(${code})`);
    if (cause instanceof Error) parts.push(`caused by ${cause.message}`);
    return parts.join(' ');
  }
  return String(e);
}
