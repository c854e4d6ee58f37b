import { Readable } from 'node:stream';
import { Sha256Worker } from '../lib/sha256-worker.js';
import { MiB } from '../domain/treehash.js';
import type { BlobReaderContract } from './blobs/types.js';

/**
 * Verification of stored bytes against the SHA-256 of each 1 MiB leaf that Firn keeps for every
 * archive and multipart part (the leaves of its tree hash, DG "Computing Checksums"). Hashing runs
 * on a worker thread; the main thread only reads and copies. Used by archive retrievals before they
 * succeed, by GetJobOutput while it streams, and by the scrubber.
 */
/** Leaves hashed ahead of the one being checked: keeps the worker busy while memory stays ≤ 5 MiB per read. */
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
  /** The leaf's bytes: [index·MiB, min((index+1)·MiB, size)). */
  bytes: Buffer;
  /** null when the bytes match the leaf's digest. */
  bad: LeafMismatchError['reason'] | null;
}

/**
 * Reads leaves [fromLeaf, toLeaf) of a blob of `size` bytes and hashes each one, in order, with
 * several in flight. Yields every leaf with its verdict; a blob that ends early (or is gone)
 * yields a last, empty leaf that is `short` and stops.
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
  const inflight: { index: number; p: Promise<{ digest: Buffer; bytes: Buffer }> }[] = [];
  let index = fromLeaf;
  let buf: Buffer | null = null;
  let len = 0;
  const leafLength = (i: number) => Math.min(MiB, end - i * MiB);

  const settle = async function* (max: number): AsyncGenerator<LeafResult> {
    while (inflight.length > max) {
      const head = inflight.shift()!;
      const { digest, bytes } = await head.p;
      const want = expected(head.index);
      yield { index: head.index, bytes, bad: want.length === 32 && digest.equals(want) ? null : 'mismatch' };
    }
  };

  if (start >= end) {
    // An empty archive: one leaf, the hash of nothing.
    if (size === 0 && fromLeaf === 0) {
      const { digest, bytes } = await w.hashLeaf(Buffer.allocUnsafeSlow(0));
      yield { index: 0, bytes, bad: digest.equals(expected(0)) ? null : 'mismatch' };
    }
    return;
  }
  try {
    for await (const chunk of blobs.read(blobKey, start, end, signal) as AsyncIterable<Buffer>) {
      let off = 0;
      while (off < chunk.length) {
        buf ??= Buffer.allocUnsafeSlow(leafLength(index));
        const n = chunk.copy(buf, len, off);
        len += n;
        off += n;
        if (len === buf.length) {
          const p = w.hashLeaf(buf);
          // Handled here too: a consumer that stops early leaves the rest un-awaited.
          p.catch(() => {});
          inflight.push({ index, p });
          index++;
          buf = null;
          len = 0;
          yield* settle(LEAVES_IN_FLIGHT);
        }
      }
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' && !(e instanceof RangeError)) throw e;
    // The blob is gone or shorter than recorded (a manifest with a missing member).
  }
  yield* settle(0);
  if (index * MiB < end) yield { index, bytes: Buffer.alloc(0), bad: 'short' };
}

/**
 * Bytes [start, endExclusive) of a blob of `size` bytes, each released only once the 1 MiB leaf
 * it belongs to has been verified; a bad leaf throws LeafMismatchError before any of its bytes
 * are yielded (`onMismatch` is told first). Reads whole leaves around an unaligned range.
 */
export function verifiedRead(
  blobs: BlobReaderContract,
  blobKey: string,
  size: number,
  leaves: LeafSpan,
  start: number,
  endExclusive: number,
  signal?: AbortSignal,
  onMismatch?: (e: LeafMismatchError) => void,
): Readable {
  async function* gen(): AsyncGenerator<Buffer> {
    if (endExclusive <= start) return;
    const first = Math.floor(start / MiB);
    for await (const leaf of checkedLeaves(blobs, blobKey, size, leaves, first, Math.ceil(endExclusive / MiB), signal)) {
      if (leaf.bad) {
        const e = new LeafMismatchError(leaf.index, leaf.bad);
        onMismatch?.(e);
        throw e;
      }
      const base = leaf.index * MiB;
      const from = Math.max(start, base) - base;
      const to = Math.min(endExclusive, base + leaf.bytes.length) - base;
      yield from === 0 && to === leaf.bytes.length ? leaf.bytes : leaf.bytes.subarray(from, to);
    }
  }
  // A high-water mark of a few leaves lets reading and hashing run ahead while the socket drains
  // the previous MiB (with the default 16 KiB, the generator would wait for every write).
  return Readable.from(gen(), { objectMode: false, highWaterMark: LEAVES_IN_FLIGHT * MiB, ...(signal ? { signal } : {}) });
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
    if (leaf.bad) return new LeafMismatchError(leaf.index, leaf.bad);
  }
  return null;
}
