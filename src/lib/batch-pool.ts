/**
 * Reusable 1 MiB batches for the upload path (blob writes, and the hash workers' input). Under
 * many concurrent uploads a fresh 1 MiB buffer per batch and per consumer multiplied memory (200
 * concurrent 1 MiB uploads took the server to 0.8–0.95 GB RSS). Each byte is now copied once, into
 * a shared batch that the file write and both hash workers read in place; batches are taken when
 * bytes arrive (the first sized to the body) and reused. At most POOL_MAX idle batches are kept:
 * what the pool holds stays in the process's RSS for good, and a node that once served three large
 * uploads at once (nine batches each) kept 25–30 MiB of them. Batches beyond it are allocated when
 * needed and freed at the next collections of the main thread and the hash workers.
 */
export const BATCH = 1024 * 1024;
const POOL_MAX = 16;
const idle: SharedArrayBuffer[] = [];

/**
 * A batch of `size` bytes (at most BATCH), in shared memory so that the hash workers read it where
 * it is: one copy of each byte serves the file write and both hashes. Full batches come from the
 * pool.
 */
export function takeBatch(size = BATCH): Buffer {
  if (size >= BATCH) return Buffer.from(idle.pop() ?? new SharedArrayBuffer(BATCH));
  return Buffer.from(new SharedArrayBuffer(Math.max(1, size)));
}

/** Returns a batch for reuse once nobody reads or writes it any more (only full-size ones are kept). */
export function giveBatch(b: Buffer): void {
  if (b.buffer instanceof SharedArrayBuffer && b.byteOffset === 0 && b.buffer.byteLength === BATCH && idle.length < POOL_MAX) idle.push(b.buffer);
}

/**
 * Copies `chunk` from `off` into `buf` (which holds `len` bytes), growing `buf` to a full batch
 * when it was sized smaller and fills up. Returns the buffer and how many bytes were copied.
 */
export function fillBatch(buf: Buffer, len: number, chunk: Buffer, off: number): { buf: Buffer; copied: number } {
  if (len === buf.length && buf.length < BATCH) {
    const grown = takeBatch(BATCH);
    buf.copy(grown, 0, 0, len);
    buf = grown;
  }
  return { buf, copied: chunk.copy(buf, len, off) };
}
