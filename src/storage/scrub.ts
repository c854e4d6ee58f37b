import { setTimeout as sleep } from 'node:timers/promises';
import { vaultArn } from '../domain/arn.js';
import { MiB } from '../domain/treehash.js';
import type { Logger } from '../lib/logger.js';
import type { BlobReaderContract } from './blobs/types.js';
import type { MetadataStore, ScrubFilter, VaultPlace } from './metadata/types.js';
import { checkedLeaves, type LeafSpan } from './verify.js';

/**
 * Scrubbing: re-reads stored archives and the parts of multipart uploads in progress and checks
 * every 1 MiB against the SHA-256 leaf digests recorded when the bytes arrived. Runs beside a
 * serving process (it only reads), on demand (`firn scrub`) or in the background
 * (FIRN_SCRUB_INTERVAL). Findings go to a callback, so that the CLI prints them, the server logs
 * them and anything else (metrics) can count them.
 */

export interface ScrubFinding extends VaultPlace {
  kind: 'archive' | 'part';
  vaultArn: string;
  /** Set for an archive. */
  archiveId: string | null;
  /** Set for a part: its upload and the part's number (its first byte / the part size). */
  uploadId: string | null;
  partIndex: number | null;
  /** Index of the first damaged MiB (within the archive, or within the part). */
  firstBadMiB: number;
  /** Damaged MiBs found (a missing or truncated blob counts its first missing MiB once). */
  badMiBs: number;
  reason: 'mismatch' | 'short';
}

/** Reported after every MiB read. */
export interface ScrubProgress {
  /** Archives and parts checked so far. */
  items: number;
  bytes: number;
  /** Bytes to check in all, as counted when the pass started. */
  totalBytes: number;
}

export interface ScrubSummary {
  archives: number;
  parts: number;
  bytes: number;
  damaged: number;
}

export interface ScrubOptions extends ScrubFilter {
  /** Read at most this many bytes per second (real time). Unlimited when absent. */
  bytesPerSecond?: number;
  signal?: AbortSignal;
  onFinding?: (f: ScrubFinding) => void;
  onProgress?: (p: ScrubProgress) => void;
}

const PAGE = 200;

/** One pass over the archives and parts the filter selects. */
export async function scrub(store: MetadataStore, blobs: BlobReaderContract, opts: ScrubOptions = {}): Promise<ScrubSummary> {
  const filter: ScrubFilter = { ...(opts.accountId ? { accountId: opts.accountId } : {}), ...(opts.vaultName ? { vaultName: opts.vaultName } : {}) };
  const [a, p] = await Promise.all([store.archives.scrubTotal(filter), store.uploads.scrubTotal(filter)]);
  const progress: ScrubProgress = { items: 0, bytes: 0, totalBytes: a.bytes + p.bytes };
  const summary: ScrubSummary = { archives: 0, parts: 0, bytes: 0, damaged: 0 };
  const started = performance.now();

  /** Checks one blob; returns the first bad MiB and how many, or null. */
  const check = async (blobKey: string, size: number, packed: Buffer) => {
    const leaves: LeafSpan = { firstLeaf: 0, packed };
    let first: { index: number; reason: 'mismatch' | 'short' } | null = null;
    let bad = 0;
    for await (const leaf of checkedLeaves(blobs, blobKey, size, leaves, 0, Math.max(1, Math.ceil(size / MiB)), opts.signal)) {
      if (leaf.bad) {
        bad++;
        first ??= { index: leaf.index, reason: leaf.bad };
      }
      leaf.release();
      progress.bytes += leaf.bytes.length;
      summary.bytes += leaf.bytes.length;
      opts.onProgress?.({ ...progress });
      if (opts.bytesPerSecond) {
        const ahead = (summary.bytes / opts.bytesPerSecond) * 1000 - (performance.now() - started);
        if (ahead > 0) await sleep(ahead, undefined, opts.signal ? { signal: opts.signal } : {});
      }
    }
    progress.items++;
    return first ? { ...first, bad } : null;
  };
  const found = (f: Omit<ScrubFinding, 'vaultArn'>) => {
    summary.damaged++;
    opts.onFinding?.({ ...f, vaultArn: vaultArn(f.region, f.accountId, f.vaultName) });
  };

  for (let after: string | null = null; ; ) {
    const page = await store.archives.listForScrub(filter, after, PAGE);
    for (const r of page) {
      opts.signal?.throwIfAborted();
      const packed = await store.archives.getLeaves(r.archiveId);
      if (!packed) continue;
      const bad = await check(r.blobKey, r.size, packed);
      summary.archives++;
      // Deleted while it was read (its blob may be gone already): not damage.
      if (bad && (await store.archives.get(r.vaultId, r.archiveId))) {
        found({ ...place(r), kind: 'archive', archiveId: r.archiveId, uploadId: null, partIndex: null, firstBadMiB: bad.index, badMiBs: bad.bad, reason: bad.reason });
      }
    }
    if (page.length < PAGE) break;
    after = page[page.length - 1]!.archiveId;
  }

  for (let after: { uploadId: string; index: number } | null = null; ; ) {
    const page = await store.uploads.listPartsForScrub(filter, after, PAGE);
    for (const r of page) {
      opts.signal?.throwIfAborted();
      const bad = await check(r.part.blobKey, r.part.size, r.leaves);
      summary.parts++;
      // Re-uploaded, completed or aborted while it was read: not damage.
      const now = bad ? (await store.uploads.listParts(r.uploadId, r.part.index, 1))[0] : undefined;
      if (bad && now?.blobKey === r.part.blobKey && (await store.uploads.get(r.uploadId))?.state === 'active') {
        found({ ...place(r), kind: 'part', archiveId: null, uploadId: r.uploadId, partIndex: r.part.index, firstBadMiB: bad.index, badMiBs: bad.bad, reason: bad.reason });
      }
    }
    if (page.length < PAGE) break;
    const last = page[page.length - 1]!;
    after = { uploadId: last.uploadId, index: last.part.index };
  }
  return summary;
}

const place = (r: VaultPlace): VaultPlace => ({ accountId: r.accountId, region: r.region, vaultName: r.vaultName });

/** One line naming a damaged archive (or part) and its vault. */
export function describeFinding(f: ScrubFinding): string {
  const what = f.kind === 'archive' ? `archive ${f.archiveId}` : `part ${f.partIndex} of multipart upload ${f.uploadId}`;
  const how = f.reason === 'short' ? `bytes missing from MiB ${f.firstBadMiB} on` : `${f.badMiBs} damaged MiB, the first is MiB ${f.firstBadMiB}`;
  return `damaged ${what} in vault ${f.vaultName} (${f.vaultArn}): ${how}`;
}

/**
 * The background scrub (FIRN_SCRUB_INTERVAL): a pass, then a pause of `intervalMs`, and so on,
 * reading at most `bytesPerSecond`. Findings are logged at error level and passed to listeners
 * registered with `onFinding` (e.g. metrics).
 */
export class BackgroundScrub {
  readonly #listeners = new Set<(f: ScrubFinding) => void>();
  readonly #abort = new AbortController();
  readonly #d: { store: MetadataStore; blobs: BlobReaderContract; log: Logger; intervalMs: number; bytesPerSecond: number };
  #loop: Promise<void> | null = null;

  constructor(deps: { store: MetadataStore; blobs: BlobReaderContract; log: Logger; intervalMs: number; bytesPerSecond: number }) {
    this.#d = deps;
  }

  /** Calls `listener` for every damaged archive or part found; returns the unsubscribe function. */
  onFinding(listener: (f: ScrubFinding) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Runs one pass now (also what the timer runs). */
  async runPass(): Promise<ScrubSummary> {
    const { store, blobs, log, bytesPerSecond } = this.#d;
    const t0 = performance.now();
    const summary = await scrub(store, blobs, {
      bytesPerSecond,
      signal: this.#abort.signal,
      onFinding: (f) => {
        log.error({ ...f }, describeFinding(f));
        for (const l of this.#listeners) l(f);
      },
    });
    log.info({ ...summary, ms: Math.round(performance.now() - t0) }, 'scrub pass finished');
    return summary;
  }

  start(): void {
    if (this.#loop || this.#d.intervalMs <= 0) return;
    const signal = this.#abort.signal;
    this.#loop = (async () => {
      while (!signal.aborted) {
        try {
          await sleep(this.#d.intervalMs, undefined, { signal, ref: false });
          await this.runPass();
        } catch (err) {
          if (signal.aborted) return;
          this.#d.log.error({ err }, 'scrub pass failed');
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
  }
}
