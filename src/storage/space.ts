import { statfs } from 'node:fs/promises';
import { Errors, type GlacierError } from '../domain/errors.js';
import type { Logger } from '../lib/logger.js';

/** Error codes that mean "the file system is full": Node's and SQLite's (better-sqlite3). */
const FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);

export function isStorageFull(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && FULL_CODES.has(code);
}

/**
 * Free space on the data directory's file system, and the reserve that keeps the way out open.
 *
 * New archive bytes (UploadArchive, UploadMultipartPart) are admitted only while the free space,
 * less what uploads in progress have declared, stays above the reserve. Everything else that
 * writes (metadata rows, manifests, inventory outputs) is not held to the reserve, so on a disk
 * that uploads filled, DeleteArchive, AbortMultipartUpload, InitiateJob and every metadata write
 * still have room, and deleting archives frees space without a restart. Reads need no space.
 *
 * A full disk (ENOSPC, SQLITE_FULL) is a known condition: it becomes a 507 that says so, and it is
 * logged once per episode (the episode ends when an upload is acknowledged again).
 */
/**
 * How long a statfs sample may answer `admit`, and how far above the reserve its estimate must
 * stay. statfs per upload showed in the profile of small uploads; within this window the estimate
 * (the sample, less every byte admitted since) only errs low, and near the reserve every decision
 * takes a fresh sample, so refusals are exactly as before.
 */
const SAMPLE_MS = 1000;
const SAMPLE_MARGIN = 256 * 1024 * 1024;

export class DiskSpace {
  readonly #dir: string;
  readonly #reserve: number;
  readonly #log: Logger;
  #inFlight = 0;
  #episode = false;
  /** Bytes ever admitted; the last statfs (free bytes), when it was started, and #admitted then. */
  #admitted = 0;
  #sample: { free: number; at: number; admitted: number } | null = null;

  constructor(dir: string, reserve: number, log: Logger) {
    this.#dir = dir;
    this.#reserve = reserve;
    this.#log = log;
  }

  /** Bytes available to this process's user on the data directory's file system. */
  async free(): Promise<number> {
    const s = await statfs(this.#dir);
    return s.bavail * s.bsize;
  }

  /**
   * Admits `bytes` of new archive data, or throws 507. Call the returned function when the upload
   * has finished (stored or not): from then on its bytes are on disk or gone.
   */
  async admit(bytes: number): Promise<() => void> {
    const cached = this.#sample;
    let free: number;
    // Uploads admitted since the sample was started may be finished (their bytes on disk, no
    // longer in #inFlight): all of them count as taken.
    const estimate = cached ? cached.free - (this.#admitted - cached.admitted) : 0;
    if (cached && performance.now() - cached.at < SAMPLE_MS && estimate - this.#inFlight - bytes - this.#reserve >= SAMPLE_MARGIN) {
      free = estimate;
    } else {
      const at = performance.now();
      const admitted = this.#admitted;
      free = await this.free();
      this.#sample = { free, at, admitted };
    }
    if (free - this.#inFlight - bytes < this.#reserve) {
      throw this.#refuse(
        `Insufficient storage: the server's disk is full. ${free} bytes are free and ${this.#reserve} are kept in reserve for metadata, so this upload of ${bytes} bytes cannot be stored. Delete archives or abort multipart uploads to free space.`,
        { free, reserve: this.#reserve, inFlight: this.#inFlight, bytes },
      );
    }
    this.#inFlight += bytes;
    this.#admitted += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#inFlight -= bytes;
    };
  }

  /** New data was stored (an upload acknowledged): a full-disk episode, if any, is over. */
  stored(): void {
    if (!this.#episode) return;
    this.#episode = false;
    this.#log.warn({ reserve: this.#reserve }, 'storage has room again: uploads are stored again');
  }

  /** The client-facing error for a full-disk error from the file system or SQLite; null for any other error. */
  refusal(e: unknown): GlacierError | null {
    if (!isStorageFull(e)) return null;
    return this.#refuse(
      "Insufficient storage: the server's disk is full and the request could not be stored. Delete archives or abort multipart uploads to free space.",
      { err: e },
    );
  }

  #refuse(message: string, details: Record<string, unknown>): GlacierError {
    if (!this.#episode) {
      this.#episode = true;
      this.#log.error({ dir: this.#dir, ...details }, 'storage is full: new data is refused until space is freed');
    }
    return Errors.storageFull(message);
  }
}
