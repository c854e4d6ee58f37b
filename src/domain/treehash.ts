import { createHash } from 'node:crypto';

/**
 * SHA-256 tree hash (DG checksum-calculations, DG checksum-calculations).
 * Leaves are SHA-256 of 1 MiB chunks; pairs are combined as SHA256(a‖b) over raw digests; an odd
 * one out is promoted unchanged. Firn keeps every archive's leaf hashes (32 bytes each, packed in
 * one Buffer) so range hashes and multipart completion need no re-read.
 */
export const MiB = 1024 * 1024;
export const EMPTY_LEAF = createHash('sha256').digest();

export function combine(a: Buffer, b: Buffer): Buffer {
  return createHash('sha256').update(a).update(b).digest();
}

/** Reduces a list of digests (leaves, or subtree roots in order) to one root. */
export function reduceDigests(digests: Buffer[]): Buffer {
  if (digests.length === 0) return EMPTY_LEAF;
  let level = digests;
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) {
      next.push(i + 1 < level.length ? combine(level[i]!, level[i + 1]!) : level[i]!);
    }
    level = next;
  }
  return level[0]!;
}

/** Splits a packed leaf buffer (32 bytes per leaf) into digests. */
export function unpackLeaves(packed: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i + 32 <= packed.length; i += 32) out.push(packed.subarray(i, i + 32));
  return out;
}

/** Tree hash (hex) of the leaves with index [from, to). */
export function treeHashOfLeaves(leaves: Buffer[] | Buffer, from = 0, to?: number): string {
  const list = Buffer.isBuffer(leaves) ? unpackLeaves(leaves) : leaves;
  return reduceDigests(list.slice(from, to ?? list.length)).toString('hex');
}

/**
 * Streaming tree hasher: feed chunks of any size; it keeps the 1 MiB leaf digests.
 * Also computes the linear SHA-256 when asked (both hashes are verified at ingest).
 */
export class TreeHasher {
  readonly leaves: Buffer[] = [];
  #leaf = createHash('sha256');
  #inLeaf = 0;
  #linear: ReturnType<typeof createHash> | null;
  bytes = 0;

  constructor(opts: { linear?: boolean } = {}) {
    this.#linear = opts.linear ? createHash('sha256') : null;
  }

  update(chunk: Buffer): void {
    this.bytes += chunk.length;
    this.#linear?.update(chunk);
    let off = 0;
    while (off < chunk.length) {
      const take = Math.min(MiB - this.#inLeaf, chunk.length - off);
      this.#leaf.update(off === 0 && take === chunk.length ? chunk : chunk.subarray(off, off + take));
      this.#inLeaf += take;
      off += take;
      if (this.#inLeaf === MiB) {
        this.leaves.push(this.#leaf.digest());
        this.#leaf = createHash('sha256');
        this.#inLeaf = 0;
      }
    }
  }

  /** Finishes; returns the tree hash (hex), linear SHA-256 (hex, if enabled) and packed leaves. */
  digest(): { treeHash: string; linearHash: string | null; leaves: Buffer; size: number } {
    if (this.#inLeaf > 0 || this.leaves.length === 0) {
      this.leaves.push(this.#leaf.digest());
      this.#inLeaf = 0;
    }
    return {
      treeHash: reduceDigests(this.leaves).toString('hex'),
      linearHash: this.#linear ? this.#linear.digest('hex') : null,
      leaves: Buffer.concat(this.leaves),
      size: this.bytes,
    };
  }
}

export function treeHash(data: Buffer): string {
  const h = new TreeHasher();
  h.update(data);
  return h.digest().treeHash;
}

/**
 * DG checksum-calculations, in closed form: a byte range [start, endExclusive) is tree-hash aligned iff there is an
 * i ≥ 0 such that start is a multiple of B = 2^i MiB and endExclusive == min(start + B, size).
 */
export function isTreeHashAligned(start: number, endExclusive: number, size: number): boolean {
  if (start < 0 || endExclusive > size || start >= endExclusive) return false;
  if (start % MiB !== 0) return false;
  for (let b = MiB; ; b *= 2) {
    if (start % b !== 0) return false;
    if (endExclusive === Math.min(start + b, size)) return true;
    if (start + b >= size) return false;
  }
}

/** MiB-aligned (InitiateJob RetrievalByteRange rule): S % MiB == 0 and (E+1) % MiB == 0 or E == size−1. */
export function isMiBAligned(start: number, endInclusive: number, size: number): boolean {
  return start % MiB === 0 && ((endInclusive + 1) % MiB === 0 || endInclusive === size - 1);
}

/**
 * Tree hash of an aligned archive range [start, endExclusive) from the archive's packed leaves,
 * or null when the range is not tree-hash aligned.
 */
export function rangeTreeHash(leaves: Buffer, start: number, endExclusive: number, size: number): string | null {
  if (!isTreeHashAligned(start, endExclusive, size)) return null;
  return treeHashOfLeaves(leaves, start / MiB, Math.ceil(endExclusive / MiB));
}
