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
 * Reclaims space: expires idle multipart uploads (by the injected clock), deletes blobs whose last
 * reference is gone, and at start-up removes what a crash left behind (temp files, and blobs that
 * were renamed into place but whose metadata commit never happened).
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

  /** Run before the server listens, when no write can be in flight. */
  async startup(): Promise<{ removedTemp: number; removedOrphans: number; collected: number }> {
    const { removedTemp } = await this.#blobs.init();
    let removedOrphans = 0;
    for await (const key of this.#blobs.list()) {
      if (!(await this.#store.blobs.known(key))) {
        await this.#blobs.delete(key);
        removedOrphans++;
      }
    }
    const collected = await this.collect();
    if (removedTemp + removedOrphans > 0) this.#log.info({ removedTemp, removedOrphans }, 'removed blobs left by an interrupted write');
    return { removedTemp, removedOrphans, collected };
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

  /** Expires uploads idle for `uploadIdleMs` and reclaims their parts' space. Returns how many expired. */
  async sweep(): Promise<number> {
    const now = this.#clock.now();
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
