import type { Config } from '../config/schema.js';
import type { Clock } from '../lib/clock.js';
import { OffsetClock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { isLegacyOutputKey } from '../domain/jobs.js';
import type { ClaimedJob, JobClaim, JobOutcome, JobRecord, MetadataStore } from '../storage/metadata/types.js';
import { BlobLeaseLostError } from '../storage/metadata/errors.js';
import type { BlobStore } from '../storage/blobs/types.js';
import { archiveGone, failedOutcome, runArchiveRetrieval, runInventory } from './tasks.js';
import { withNotifications } from './notifications.js';
import { LegacyJobOutputs } from './legacy-outputs.js';

export interface EngineDeps {
  config: Config;
  clock: Clock;
  log: Logger;
  store: MetadataStore;
  /** Archive bytes (retrievals verify them before they succeed) and inventory outputs. */
  blobs: Pick<BlobStore, 'read' | 'newKey' | 'create'>;
  /**
   * This process's leases (src/storage/lease.ts): `owner` is the worker id of every claim, claims
   * last `leaseMs` and the heartbeat renews them (and the output blobs being written).
   */
  leases: { readonly owner: string; readonly leaseMs: number; until(): number };
  /**
   * Whether this process is the only one using the storage (openStorage). Only then does start-up
   * release every claim left in the store (they all belong to a process that died) and remove
   * legacy output files whose job is gone.
   */
  exclusive: boolean;
  /** Called after a job completed (its notification rows, if any, are in the outbox): a local kick of the notifier. */
  onOutbox?: () => void;
  /** Called when blobs became garbage (an attempt's unused output): a local kick of the collector. */
  onGarbage?: () => void;
}

const CLAIM_BATCH = 8;
const EXPIRE_BATCH = 100;

/**
 * The job engine: claims due jobs from the MetadataStore, runs them, retries failures, and
 * expires outputs after their window. State lives only in the store, so a crash at any moment
 * leaves every job either still queued (it runs again) or completed, never lost.
 *
 * A claim is (worker id = this process's lease owner, attempt number): it lasts FIRN_LEASE and the
 * process's heartbeat renews it while the job runs. A process stalled for longer loses it: another
 * worker may claim the job, and this attempt's complete or retry then changes nothing (null/false).
 * Each attempt of an inventory writes its own output blob, so an attempt that lost its claim only
 * ever discards its own output, never the winner's.
 *
 * It wakes on a timer (the next due time, at most FIRN_JOB_POLL_INTERVAL away), on every 'jobs'
 * signal of the store (a job created, retried or made due by any process sharing it), on `kick()`
 * (InitiateJob, a cheap local wake-up) and when the test clock advances. Tests drive it
 * synchronously with `runDue()`.
 */
export class JobEngine {
  /** Inventory outputs of jobs completed before #12 (files), read by GetJobOutput until they expire. */
  readonly legacyOutputs: LegacyJobOutputs;
  readonly #d: EngineDeps;
  #timer: NodeJS.Timeout | null = null;
  #unsubscribe: (() => void) | null = null;
  #unlisten: (() => Promise<void>) | null = null;
  #started = false;
  /** A pass queued behind the current one; later callers share it. */
  #pending: Promise<void> | null = null;
  #tail: Promise<void> = Promise.resolve();
  /**
   * Claims that could be neither completed nor put back (the store failed): released at the next
   * pass, since the heartbeat would otherwise keep them held by this live process for ever.
   */
  #stuck: JobClaim[] = [];

  constructor(deps: EngineDeps) {
    this.#d = deps;
    this.legacyOutputs = new LegacyJobOutputs(deps.config.dataDir);
  }

  /** The worker id of this engine's claims (the process's lease owner). */
  get workerId(): string {
    return this.#d.leases.owner;
  }

  async start(): Promise<void> {
    if (this.#started) return;
    if (this.#d.exclusive) {
      // The only process using the storage: any claim left belongs to a process that died
      // (kill -9), so its jobs can run again now rather than after the lease.
      await this.#d.store.jobs.releaseAllClaims();
      const pruned = await this.legacyOutputs.prune(this.#d.store.jobs);
      if (pruned > 0) this.#d.log.info({ removed: pruned, dir: this.legacyOutputs.dir }, 'removed job output files of jobs that are gone');
    }
    this.#started = true;
    if (this.#d.clock instanceof OffsetClock) this.#unsubscribe = this.#d.clock.onAdvance(() => this.kick());
    this.#unlisten = await this.#d.store.signals.listen('jobs', () => this.kick());
    this.kick();
  }

  async stop(): Promise<void> {
    this.#started = false;
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    const unlisten = this.#unlisten;
    this.#unlisten = null;
    await unlisten?.();
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
    const { store, clock, config, leases } = this.#d;
    try {
      await this.#releaseStuck();
      if (config.inventoryMode === 'daily') {
        const n = await store.jobs.takeInventorySnapshots(clock.now(), config.inventoryCadence);
        if (n > 0) this.#d.log.info({ vaults: n }, 'inventory snapshots taken');
      }
      await this.#expire();
      for (;;) {
        const claimed = await store.jobs.claimDue(clock.now(), leases.owner, leases.leaseMs, CLAIM_BATCH);
        if (claimed.length === 0) break;
        for (const c of claimed) await this.#run(c);
      }
    } finally {
      await this.#schedule();
    }
  }

  /** Runs one claimed job; never throws (a claim it could not settle is released at the next pass). */
  async #run(c: ClaimedJob): Promise<void> {
    const claim: JobClaim = { seq: c.job.seq, workerId: this.workerId, attempts: c.attempts };
    try {
      await this.#attempt(c, claim);
    } catch (err) {
      this.#d.log.error({ err, jobId: c.job.jobId, attempts: c.attempts }, 'job attempt could not be settled; its claim is released at the next pass');
      this.#stuck.push(claim);
    }
  }

  async #attempt(c: ClaimedJob, claim: JobClaim): Promise<void> {
    const { clock, config, log } = this.#d;
    const job = c.job;
    const now = clock.now();
    let outcome: JobOutcome;
    try {
      outcome = job.action === 'ArchiveRetrieval' ? await runArchiveRetrieval(this.#d, job, now) : await runInventory(this.#d, job, now);
    } catch (err) {
      // Unexpected (storage) errors are retried with backoff; a job that keeps failing ends Failed.
      if (c.attempts < config.jobMaxAttempts) return this.#retry(claim, job, err, now);
      log.error({ err, jobId: job.jobId, attempts: c.attempts }, 'job failed; giving up');
      outcome = failedOutcome(now, config, 'The job failed because of an internal error.');
    }
    let done: JobRecord | null | 'archive-gone';
    try {
      done = await this.#complete(claim, job, outcome);
      // Deleted between the task's look-up and the pin: the job fails, as when deleted earlier.
      if (done === 'archive-gone') done = await this.#complete(claim, job, archiveGone(job, now, config));
    } catch (err) {
      // Nothing was written: this attempt's output is not needed (another attempt writes its own).
      if (outcome.outputKey) await this.#discardOutput(job, outcome.outputKey);
      if (err instanceof BlobLeaseLostError) {
        log.warn({ jobId: job.jobId, blobKey: err.blobKey, leaseMs: this.#d.leases.leaseMs }, 'job output lost its blob lease (this server stalled for longer than FIRN_LEASE); the job runs again');
      }
      if (c.attempts < config.jobMaxAttempts) return this.#retry(claim, job, err, now);
      log.error({ err, jobId: job.jobId, attempts: c.attempts }, 'job could not be completed; giving up');
      done = await this.#complete(claim, job, failedOutcome(now, config, 'The job failed because of an internal error.'));
      outcome = { ...outcome, outputKey: null };
    }
    if (done === null || done === 'archive-gone') {
      // The claim was lost (another worker took the job after this one's lease lapsed, completed
      // it, or the vault was deleted): this attempt's output is not needed, and only it goes.
      if (outcome.outputKey) await this.#discardOutput(job, outcome.outputKey);
      log.info({ jobId: job.jobId, attempts: c.attempts }, 'job attempt lost its claim; its result was dropped');
      return;
    }
    log.info({ jobId: job.jobId, action: job.action, status: done.status, vaultArn: job.vaultArn }, 'job completed');
    this.#d.onOutbox?.();
  }

  /**
   * Completes the job with the outbox rows its completion writes: computed here from the claimed
   * job, the outcome and the vault's notification configuration read just before.
   */
  async #complete(claim: JobClaim, job: JobRecord, outcome: JobOutcome): Promise<JobRecord | null | 'archive-gone'> {
    const vaultConfig = await this.#d.store.vaults.getNotifications(job.vaultId);
    return this.#d.store.jobs.complete(claim, withNotifications(job, outcome, vaultConfig));
  }

  async #retry(claim: JobClaim, job: JobRecord, err: unknown, now: number): Promise<void> {
    const delay = Math.min(60_000, 1000 * 2 ** (claim.attempts - 1));
    this.#d.log.warn({ err, jobId: job.jobId, attempts: claim.attempts }, 'job failed; retrying');
    const held = await this.#d.store.jobs.retry(claim, now + delay, String((err as Error)?.message ?? err));
    if (!held) this.#d.log.info({ jobId: job.jobId, attempts: claim.attempts }, 'job attempt lost its claim before its retry was scheduled');
  }

  async #releaseStuck(): Promise<void> {
    while (this.#stuck.length > 0) {
      const claim = this.#stuck[0]!;
      // Due now: the job runs again (its attempts count on).
      await this.#d.store.jobs.retry(claim, this.#d.clock.now(), 'released after an error settling the previous attempt');
      this.#stuck.shift();
    }
  }

  /** Deletes jobs whose output window has ended (the store releases their blobs in the same transaction). */
  async #expire(): Promise<void> {
    const { store, clock } = this.#d;
    let released = false;
    for (;;) {
      const gone = await store.jobs.expire(clock.now(), EXPIRE_BATCH);
      for (const j of gone) {
        if (j.outputKey && isLegacyOutputKey(j.outputKey)) {
          await this.legacyOutputs.delete(j.outputKey).catch((err: unknown) => this.#d.log.warn({ err, jobId: j.jobId }, 'could not delete a job output file'));
        } else if (j.outputKey || j.blobRetained) released = true;
      }
      if (gone.length < EXPIRE_BATCH) break;
    }
    if (released) this.#d.onGarbage?.();
  }

  /** Turns one attempt's output blob into garbage (a live one, e.g. another attempt's, is left alone by the store). */
  async #discardOutput(job: JobRecord, outputKey: string): Promise<void> {
    try {
      await this.#d.store.blobs.discard(outputKey, this.#d.clock.now());
      this.#d.onGarbage?.();
    } catch (err) {
      // Still pending under this process's lease: reclaimed at the next exclusive start-up, or by
      // the sweep once this process's heartbeat stops.
      this.#d.log.error({ err, jobId: job.jobId, blobKey: outputKey }, 'could not discard a job output');
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
