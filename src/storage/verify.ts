import { giveBatch, takeBatch } from '../lib/batch-pool.js';
import { streamed } from '../lib/gc.js';
import { Sha256Worker } from '../lib/sha256-worker.js';
import { MiB } from '../domain/treehash.js';
import type { BlobReaderContract } from './blobs/types.js';

/**
 * Verification of stored bytes against the SHA-256 of each 1 MiB leaf that Firn keeps for every
 * archive and multipart part (the leaves of its tree hash, DG "Computing Checksums"). Hashing runs
 * on a worker thread; the main thread only reads and copies. Used by archive retrievals before they
 * succeed, by GetJobOutput while it streams, and by the scrubber.
 */
/** Leaves hashed ahead of the one being checked: keeps the worker busy while a read holds ≤ 5 pooled MiB. */
const LEAVES_IN_FLIGHT = 4;

let worker: Sha256Worker | null = null;
/** One worker for all verification, apart from the upload path's, so downloads never queue behind an upload's hashing. */
export function verifyWorker(): Sha256Worker {
  return (worker ??= new Sha256Worker());
}

export interface LeafSpan {
  /** Index of the first leaf in `packed`. */
  firstLeaf: number;
  /** 32-byte SHA-256 digests, one per leaf, from `firstLeaf` on. */
  packed: Buffer;
}

/** A leaf whose stored bytes do not hash to its recorded digest (or that is missing). */
export class LeafMismatchError extends Error {
  constructor(
    readonly leafIndex: number,
    readonly reason: 'mismatch' | 'short',
  ) {
    super(reason === 'short' ? `the stored bytes end before MiB ${leafIndex}` : `MiB ${leafIndex} does not match its SHA-256 leaf hash`);
  }
}

export interface LeafResult {
  index: number;
  /** The leaf's bytes: [index·MiB, min((index+1)·MiB, size)), in a pooled 1 MiB batch. */
  bytes: Buffer;
  /** null when the bytes match the leaf's digest. */
  bad: LeafMismatchError['reason'] | null;
  /**
   * Hands the leaf's batch back to the pool (src/lib/batch-pool.ts): call it once nothing reads
   * `bytes` any more (for a response, once the socket has taken them). A leaf never released is
   * only garbage; a second call does nothing.
   */
  release: () => void;
}

/** A body chunk whose memory may be reused once `release` is called (GetJobOutput's verified bytes). */
export interface BodyChunk {
  bytes: Buffer;
  release: () => void;
}

const releaser = (batch: Buffer) => {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    giveBatch(batch);
  };
};

/**
 * Reads leaves [fromLeaf, toLeaf) of a blob of `size` bytes and hashes each one, in order, with
 * several in flight. Yields every leaf with its verdict; a blob that ends early (or is gone)
 * yields a last, empty leaf that is `short` and stops.
 *
 * Each leaf is read into a pooled batch and hashed where it is (shared memory), so a download or a
 * scrub allocates no buffer per MiB: garbage that waits for the collector is what pushed a node
 * streaming 1 GiB above 200 MB RSS.
 */
export async function* checkedLeaves(
  blobs: BlobReaderContract,
  blobKey: string,
  size: number,
  leaves: LeafSpan,
  fromLeaf: number,
  toLeaf: number,
  signal?: AbortSignal,
): AsyncGenerator<LeafResult> {
  const w = verifyWorker();
  const start = fromLeaf * MiB;
  const end = Math.min(toLeaf * MiB, size);
  const expected = (i: number) => leaves.packed.subarray((i - leaves.firstLeaf) * 32, (i - leaves.firstLeaf + 1) * 32);
  const inflight: { index: number; batch: Buffer; length: number; p: Promise<Buffer> }[] = [];
  let index = fromLeaf;
  let buf: Buffer | null = null;
  let len = 0;
  const leafLength = (i: number) => Math.min(MiB, end - i * MiB);

  const settle = async function* (max: number): AsyncGenerator<LeafResult> {
    while (inflight.length > max) {
      const head = inflight[0]!;
      const digest = await head.p;
      inflight.shift();
      const want = expected(head.index);
      yield { index: head.index, bytes: head.batch.subarray(0, head.length), bad: want.length === 32 && digest.equals(want) ? null : 'mismatch', release: releaser(head.batch) };
    }
  };

  if (start >= end) {
    // An empty archive: one leaf, the hash of nothing.
    if (size === 0 && fromLeaf === 0) {
      const batch = takeBatch();
      const digest = await w.hashLeaf(batch, 0);
      yield { index: 0, bytes: batch.subarray(0, 0), bad: digest.equals(expected(0)) ? null : 'mismatch', release: releaser(batch) };
    }
    return;
  }
  const send = () => {
    const p = w.hashLeaf(buf!, len);
    // Handled here too: a consumer that stops early leaves the rest un-awaited.
    p.catch(() => {});
    inflight.push({ index, batch: buf!, length: len, p });
    index++;
    buf = null;
    len = 0;
  };
  try {
    try {
      if (blobs.readInto) {
        // Each leaf read straight into its batch.
        while (index * MiB < end) {
          signal?.throwIfAborted();
          buf = takeBatch();
          len = await blobs.readInto(blobKey, index * MiB, buf.subarray(0, leafLength(index)));
          if (len < leafLength(index)) break;
          send();
          yield* settle(LEAVES_IN_FLIGHT);
        }
      } else {
        for await (const chunk of blobs.read(blobKey, start, end, signal) as AsyncIterable<Buffer>) {
          let off = 0;
          while (off < chunk.length) {
            buf ??= takeBatch();
            const n = chunk.copy(buf, len, off, off + Math.min(chunk.length - off, leafLength(index) - len));
            len += n;
            off += n;
            if (len === leafLength(index)) {
              // The store's read chunks are garbage now (the fs store's reads are in place).
              streamed(len);
              send();
              yield* settle(LEAVES_IN_FLIGHT);
            }
          }
        }
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' && !(e instanceof RangeError)) throw e;
      // The blob is gone or shorter than recorded (a manifest with a missing member).
    }
    yield* settle(0);
    if (index * MiB < end) yield { index, bytes: Buffer.alloc(0), bad: 'short', release: () => {} };
  } finally {
    // Stopped early or failed: batches still being hashed go back once the worker is done with them.
    if (buf) giveBatch(buf);
    for (const l of inflight.splice(0)) void l.p.then(releaser(l.batch), () => {});
  }
}

/**
 * Bytes [start, endExclusive) of a blob of `size` bytes, each released only once the 1 MiB leaf
 * it belongs to has been verified; a bad leaf throws LeafMismatchError before any of its bytes
 * are yielded (`onMismatch` is told first). Reads whole leaves around an unaligned range. Each
 * chunk is a pooled leaf (or part of one): the consumer releases it once written.
 */
export async function* verifiedRead(
  blobs: BlobReaderContract,
  blobKey: string,
  size: number,
  leaves: LeafSpan,
  start: number,
  endExclusive: number,
  signal?: AbortSignal,
  onMismatch?: (e: LeafMismatchError) => void,
): AsyncGenerator<BodyChunk> {
  if (endExclusive <= start) return;
  const first = Math.floor(start / MiB);
  for await (const leaf of checkedLeaves(blobs, blobKey, size, leaves, first, Math.ceil(endExclusive / MiB), signal)) {
    if (leaf.bad) {
      leaf.release();
      const e = new LeafMismatchError(leaf.index, leaf.bad);
      onMismatch?.(e);
      throw e;
    }
    const base = leaf.index * MiB;
    const from = Math.max(start, base) - base;
    const to = Math.min(endExclusive, base + leaf.bytes.length) - base;
    yield { bytes: from === 0 && to === leaf.bytes.length ? leaf.bytes : leaf.bytes.subarray(from, to), release: leaf.release };
  }
}

/** The first bad leaf of bytes [start, endExclusive), or null when every leaf matches. */
export async function firstBadLeaf(
  blobs: BlobReaderContract,
  blobKey: string,
  size: number,
  leaves: LeafSpan,
  start: number,
  endExclusive: number,
): Promise<LeafMismatchError | null> {
  for await (const leaf of checkedLeaves(blobs, blobKey, size, leaves, Math.floor(start / MiB), Math.ceil(endExclusive / MiB))) {
    leaf.release();
    if (leaf.bad) return new LeafMismatchError(leaf.index, leaf.bad);
  }
  return null;
}
