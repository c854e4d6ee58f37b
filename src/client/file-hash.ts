import { createReadStream } from 'node:fs';
import { MiB, TreeHasher } from '../domain/treehash.js';

export interface RangeHash {
  /** SHA-256 tree hash (hex) of the bytes. */
  treeHash: string;
  /** Plain SHA-256 (hex), for x-amz-content-sha256. */
  linearHash: string;
}

/**
 * Both hashes of `length` bytes of a file from `start`, read in 1 MiB pieces (constant memory).
 * Fails if the file is shorter than expected (it changed under us).
 */
export async function hashFileRange(path: string, start: number, length: number): Promise<RangeHash> {
  const h = new TreeHasher({ linear: true });
  if (length > 0) {
    for await (const chunk of createReadStream(path, { start, end: start + length - 1, highWaterMark: MiB })) {
      h.update(chunk as Buffer);
    }
  }
  if (h.bytes !== length) throw new Error(`${path} is shorter than expected (read ${h.bytes} of ${length} bytes at offset ${start}); did it change?`);
  const d = h.digest();
  return { treeHash: d.treeHash, linearHash: d.linearHash! };
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
