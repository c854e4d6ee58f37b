import { createReadStream } from 'node:fs';
import { MiB, TreeHasher } from '../domain/treehash.js';
import { Sha256Worker } from '../lib/sha256-worker.js';

let linearWorker: Sha256Worker | null = null;

export interface RangeHash {
  /** SHA-256 tree hash (hex) of the bytes. */
  treeHash: string;
  /** Plain SHA-256 (hex), for x-amz-content-sha256. */
  linearHash: string;
}

/**
 * Both hashes of `length` bytes of a file from `start`, read in 1 MiB pieces (constant memory).
 * The linear SHA-256 runs on a worker thread (the server's ingest does the same), so the two
 * passes over every byte use two cores. Fails if the file is shorter than expected (it changed).
 */
export async function hashFileRange(path: string, start: number, length: number): Promise<RangeHash> {
  const tree = new TreeHasher();
  const linear = (linearWorker ??= new Sha256Worker()).begin();
  if (length > 0) {
    for await (const chunk of createReadStream(path, { start, end: start + length - 1, highWaterMark: MiB })) {
      tree.update(chunk as Buffer);
      await linear.update(chunk as Buffer);
    }
  }
  const linearHash = await linear.digest();
  if (tree.bytes !== length) throw new Error(`${path} is shorter than expected (read ${tree.bytes} of ${length} bytes at offset ${start}); did it change?`);
  return { treeHash: tree.digest().treeHash, linearHash };
}

/**
 * Smallest part size, 1 MiB × 2^n, that splits `size` bytes into at most 10,000 parts (the
 * Glacier limit), and at least `min`. Glacier parts are at most 4 GiB.
 */
export function choosePartSize(size: number, min = 16 * MiB): number {
  let p = MiB;
  while (p < min || Math.ceil(size / p) > 10_000) p *= 2;
  if (p > 4096 * MiB) throw new Error(`a file of ${size} bytes needs more than 10,000 parts of 4 GiB; Glacier archives are at most 40,000 GiB`);
  return p;
}

/** True when n MiB is a power of two (Glacier part sizes and tree-hash-aligned chunks). */
export function isPowerOfTwoMiB(bytes: number): boolean {
  const m = bytes / MiB;
  return Number.isInteger(m) && m >= 1 && (m & (m - 1)) === 0;
}
