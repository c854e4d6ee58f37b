import type { Config } from '../config/schema.js';
import type { Clock } from '../lib/clock.js';
import { OffsetClock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { randomChars } from '../domain/ids.js';
import type { ClaimedJob, JobOutcome, JobRecord, MetadataStore } from '../storage/metadata/types.js';
import type { JobOutputStore } from './outputs.js';
import type { BlobReaderContract } from '../storage/blobs/types.js';
import { archiveGone, failedOutcome, runArchiveRetrieval, runInventory } from './tasks.js';

export interface EngineDeps {
  config: Config;
  clock: Clock;
  log: Logger;
  store: MetadataStore;
  outputs: JobOutputStore;
  /** Archive bytes: retrievals verify them before they succeed. */
  blobs: BlobReaderContract;
  /** Called after a job completes (its notification rows are in the outbox). */
  onOutbox?: () => void;
}

/** A claim lasts this long; a worker that dies leaves its jobs claimable again afterwards. */
const LEASE_MS = 5 * 60_000;
const CLAIM_BATCH = 8;
const EXPIRE_BATCH = 100;

/**
 * The job engine: claims due jobs from the MetadataStore, runs them, retries failures, and
 * expires outputs after their window. State lives only in the store, so a crash at any moment
 * leaves every job either still queued (it runs again) or completed, never lost.
 *
 * It wakes on a timer (the next due time, at most FIRN_JOB_POLL_INTERVAL away), when InitiateJob
 * calls `kick()`, and when the test clock advances. Tests drive it synchronously with `runDue()`.
 */
export class JobEngine {
  readonly workerId = randomChars(16);
  /** Generated outputs (inventories), read by GetJobOutput. */
  readonly outputs: JobOutputStore;
  readonly #d: EngineDeps;
  #timer: NodeJS.Timeout | null = null;
  #unsubscribe: (() => void) | null = null;
  #started = false;
  /** A pass queued behind the current one; later callers share it. */
  #pending: Promise<void> | null = null;
  #tail: Promise<void> = Promise.resolve();

  constructor(deps: EngineDeps) {
    this.#d = deps;
    this.outputs = deps.outputs;
  }

  async start(): Promise<void> {
    if (this.#started) return;
    await this.#d.outputs.init();
    // An output whose job is gone was being deleted at expiry when the process died.
    for (const key of await this.#d.outputs.list()) {
      const jobId = key.replace(/\.(json|csv)$/, '');
      if (!(await this.#d.store.jobs.getByJobId(jobId))) await this.#d.outputs.delete(key);
    }
    // Embedded SQLite is one process by construction: any claim left in the database belongs to a
    // process that died (kill -9), so its jobs can run again now rather than after the lease.
    if (this.#d.store.kind === 'sqlite') await this.#d.store.jobs.releaseAllClaims();
    this.#started = true;
    if (this.#d.clock instanceof OffsetClock) this.#unsubscribe = this.#d.clock.onAdvance(() => this.kick());
    this.kick();
  }

  async stop(): Promise<void> {
    this.#started = false;
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#tail;
  }

  /** Runs a pass soon, without waiting for it. */
  kick(): void {
    if (!this.#started) return;
    this.runDue().catch((err: unknown) => this.#d.log.error({ err }, 'job engine pass failed'));
  }

  /**
   * Runs every job due now (and anything that becomes due while it runs), takes due inventory
   * snapshots and expires outputs. Resolves when a pass that started after the call has finished.
   */
  runDue(): Promise<void> {
    if (this.#pending) return this.#pending;
    const p = this.#tail.then(() => {
      this.#pending = null;
      return this.#pass();
    });
    this.#pending = p;
    this.#tail = p.catch(() => {});
    return p;
  }

  async #pass(): Promise<void> {
    const { store, clock, config } = this.#d;
    try {
      if (config.inventoryMode === 'daily') {
        const n = await store.jobs.takeInventorySnapshots(clock.now(), config.inventoryCadence);
        if (n > 0) this.#d.log.info({ vaults: n }, 'inventory snapshots taken');
      }
      await this.#expire();
      for (;;) {
        const claimed = await store.jobs.claimDue(clock.now(), this.workerId, LEASE_MS, CLAIM_BATCH);
        if (claimed.length === 0) break;
        for (const c of claimed) await this.#run(c);
      }
    } finally {
      await this.#schedule();
    }
  }

  async #run(c: ClaimedJob): Promise<void> {
    const { store, clock, config, log } = this.#d;
    const job = c.job;
    const now = clock.now();
    let outcome: JobOutcome;
    try {
      outcome = job.action === 'ArchiveRetrieval' ? await runArchiveRetrieval(this.#d, job, now) : await runInventory(this.#d, job, now);
    } catch (err) {
      // Unexpected (storage) errors are retried with backoff; a job that keeps failing ends Failed.
      if (c.attempts < config.jobMaxAttempts) {
        const delay = Math.min(60_000, 1000 * 2 ** (c.attempts - 1));
        log.warn({ err, jobId: job.jobId, attempts: c.attempts }, 'job failed; retrying');
        await store.jobs.retry(job.seq, now + delay, String((err as Error)?.message ?? err));
        return;
      }
      log.error({ err, jobId: job.jobId, attempts: c.attempts }, 'job failed; giving up');
      outcome = failedOutcome(now, config, 'The job failed because of an internal error.');
    }
    let done = await store.jobs.complete(job.seq, outcome);
    // Deleted between the task's look-up and the pin: the job fails, as when deleted earlier.
    if (done === 'archive-gone') done = await store.jobs.complete(job.seq, archiveGone(job, now, config));
    if (done === null || done === 'archive-gone') {
      // Someone else completed it meanwhile: our output is not needed.
      if (outcome.outputKey) await this.#deleteOutput(job, outcome.outputKey);
      return;
    }
    log.info({ jobId: job.jobId, action: job.action, status: done.status, vaultArn: job.vaultArn }, 'job completed');
    this.#d.onOutbox?.();
  }

  /** Deletes jobs whose output window has ended (their blob references go in the same transaction), then their output files. */
  async #expire(): Promise<void> {
    const { store, clock } = this.#d;
    for (;;) {
      const gone = await store.jobs.expire(clock.now(), EXPIRE_BATCH);
      for (const j of gone) if (j.outputKey) await this.#deleteOutput(j, j.outputKey);
      if (gone.length < EXPIRE_BATCH) break;
    }
  }

  /** A crash before this runs leaves an orphan file, which start-up removes (JobOutputStore.init). */
  async #deleteOutput(job: JobRecord, outputKey: string): Promise<void> {
    try {
      await this.#d.outputs.delete(outputKey);
    } catch (err) {
      this.#d.log.error({ err, jobId: job.jobId }, 'could not delete a job output');
    }
  }

  async #schedule(): Promise<void> {
    if (!this.#started) return;
    if (this.#timer) clearTimeout(this.#timer);
    const now = this.#d.clock.now();
    const next = await this.#d.store.jobs.nextWakeAt(now);
    let delay = this.#d.config.jobPollInterval;
    if (next !== null) delay = Math.max(0, Math.min(delay, next - now));
    // Avoid a hot loop on a claim held by a live worker elsewhere; 20 ms is far below any tier delay.
    this.#timer = setTimeout(() => this.kick(), Math.max(20, delay));
    this.#timer.unref();
  }
}
