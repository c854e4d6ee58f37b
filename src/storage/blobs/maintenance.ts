import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import type { MetadataStore } from '../metadata/types.js';
import type { BlobStore } from './types.js';
import { blobDeletionHeld } from '../../backup/hold.js';

export interface BlobMaintenanceOptions {
  /** "Uploads may be reclaimed after 24 h of inactivity" (DG uploading-archive-mpu). */
  uploadIdleMs: number;
  /**
   * How long a finished upload is remembered, so that a repeated Complete returns the same
   * archive id and a repeated Abort answers 204 ("idempotent for a short period", DG uploading-archive-mpu).
   */
  finishedRetentionMs: number;
  /** Real time, for the backup hold (`firn backup` writes it in wall-clock time). */
  wallClock: Clock;
}

/**
 * Reclaims space: turns pending blobs whose writer's lease lapsed into garbage, expires idle
 * multipart uploads (by the injected clock) and deletes blobs whose last reference is gone. It
 * never lists the BlobStore: every blob is recorded (pending) before its first byte is written, so
 * the metadata alone says what may be deleted, even while other processes share the store.
 */
export class BlobMaintenance {
  readonly #store: MetadataStore;
  readonly #blobs: BlobStore;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #opts: BlobMaintenanceOptions;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<unknown> = Promise.resolve();

  constructor(store: MetadataStore, blobs: BlobStore, clock: Clock, log: Logger, opts: BlobMaintenanceOptions) {
    this.#store = store;
    this.#blobs = blobs;
    this.#clock = clock;
    this.#log = log;
    this.#opts = opts;
  }

  /**
   * Run before the server listens. `exclusive` (embedded mode: this process is the only one using
   * the storage, so every other writer is dead) empties the BlobStore's temp area and turns every
   * pending blob into garbage, whatever its lease; then collects. Shared mode only prepares the
   * store and collects: other processes' pending blobs are reclaimed by sweeps once their leases lapse.
   */
  async startup(opts: { exclusive: boolean }): Promise<{ removedTemp: number; reapedPending: number; collected: number }> {
    const { removedTemp } = await this.#blobs.init({ exclusive: opts.exclusive });
    const reapedPending = opts.exclusive ? await this.#reap(Number.MAX_SAFE_INTEGER) : 0;
    const collected = await this.collect();
    if (removedTemp + reapedPending > 0) this.#log.info({ removedTemp, reapedPending }, 'reclaimed blobs left by interrupted writes');
    return { removedTemp, reapedPending, collected };
  }

  /** Pending blobs whose lease ended before `now` become garbage. */
  async #reap(now: number): Promise<number> {
    let n = 0;
    for (;;) {
      const k = await this.#store.blobs.reapExpiredPending(now, 100);
      n += k;
      if (k < 100) return n;
    }
  }

  /** Deletes every blob whose last reference is gone, unless a backup holds deletions. Returns how many. */
  async collect(): Promise<number> {
    let n = 0;
    for (;;) {
      const keys = await this.#store.blobs.garbage(100);
      if (keys.length === 0) return n;
      // Checked after reading the garbage list: a blob already garbage then is in no snapshot
      // taken after the hold was set, so deleting it cannot break that backup.
      if (await blobDeletionHeld(this.#store.state, this.#opts.wallClock.now())) {
        this.#log.debug({ pending: keys.length }, 'blob deletion held while a backup runs');
        return n;
      }
      for (const k of keys) await this.#blobs.delete(k);
      await this.#store.blobs.forget(keys);
      n += keys.length;
    }
  }

  /**
   * Reclaims pending blobs whose lease lapsed (their writer died or stalled), expires uploads idle
   * for `uploadIdleMs`, then collects. Returns how many uploads expired.
   */
  async sweep(): Promise<number> {
    const now = this.#clock.now();
    const reaped = await this.#reap(now);
    if (reaped > 0) this.#log.warn({ reaped }, 'reclaimed pending blobs whose writer lease lapsed');
    let expired = 0;
    for (;;) {
      const n = await this.#store.uploads.expireIdle(now - this.#opts.uploadIdleMs, now, 100);
      expired += n;
      if (n < 100) break;
    }
    await this.#store.uploads.purgeFinished(now - this.#opts.finishedRetentionMs);
    await this.collect();
    if (expired > 0) this.#log.info({ expired }, 'expired idle multipart uploads');
    return expired;
  }

  /** Collects soon (after a delete), without making the request wait for it. */
  kick(): void {
    this.#running = this.#running.then(() => this.collect()).catch((err: unknown) => this.#log.warn({ err }, 'blob collection failed'));
  }

  start(intervalMs: number): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      this.#running = this.#running.then(() => this.sweep()).catch((err: unknown) => this.#log.warn({ err }, 'upload sweep failed'));
    }, intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#running;
  }
}
