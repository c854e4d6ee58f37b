import { closeSync, createReadStream, fsync, openSync, renameSync, rmSync, write, writeSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rm, stat, type FileHandle } from 'node:fs/promises';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { BlobStore, BlobWriter, ManifestMember } from '../types.js';
import { KEY_RE, newBlobKey } from '../keys.js';
import { BATCH as WRITE_BATCH, fillBatch, giveBatch, takeBatch } from '../../../lib/batch-pool.js';
import { GroupSync } from '../../group-sync.js';

const fsyncFd = promisify(fsync);
const writeFd = promisify(write);

const WRITES_IN_FLIGHT = 4;
/**
 * Dirty pages are pushed to disk while the body still arrives (an fdatasync every 32 MiB, in the
 * background), so the fsync before the 201 has little left to do instead of a whole archive.
 */
const SYNC_EVERY = 32 * 1024 * 1024;
/**
 * Read size for downloads. Measured with boto3 GetJobOutput of 1 GiB (bench/RESULTS.md): 256 KiB
 * reads gave 640–840 MiB/s, most of the server's time in GC and per-chunk socket writes; 2 MiB
 * reads gave 1.0–1.4 GiB/s. Memory stays bounded: a few chunks per download in flight.
 */
const READ_CHUNK = 2 * 1024 * 1024;
/**
 * `put` writes a blob up to this size with one write(2) on the main thread (tens of µs); larger
 * ones on the libuv pool, where a write held up by writeback cannot stall other requests.
 */
const PUT_SYNC_WRITE = 64 * 1024;

/**
 * Filesystem BlobStore: `<root>/data/<2 hex>/<key>` for committed blobs, `<root>/tmp/<key>` for a
 * write in progress. A blob becomes visible only by rename(2) after fsync, and the rename is made
 * durable by fsyncing the directory, so a crash leaves either nothing (a temp file) or the whole
 * blob. The temp file is named by the key, so `delete(key)` also removes an unfinished write (a
 * pending blob whose writer died, reclaimed through the metadata's leases; its commit then fails),
 * and `init({ exclusive: true })` may empty tmp/ because no other process writes there.
 *
 * Keys (src/storage/blobs/keys.ts): their last two hex digits pick the shard.
 */
export class FsBlobStore implements BlobStore {
  readonly kind = 'fs' as const;
  readonly root: string;
  readonly #tmp: string;
  readonly #data: string;
  /** Shard directories known to exist durably (created and their entry in data/ fsynced, or found). */
  readonly #shards = new Map<string, Promise<void>>();
  /** An open descriptor and a shared fsync per directory that publishes renames into (≤ 257). */
  readonly #dirs = new Map<string, { fd: number; sync: GroupSync }>();

  constructor(root: string) {
    this.root = root;
    this.#tmp = join(root, 'tmp');
    this.#data = join(root, 'data');
  }

  async init(opts: { exclusive: boolean }) {
    await mkdir(this.#tmp, { recursive: true });
    await mkdir(this.#data, { recursive: true });
    let removedTemp = 0;
    // Only when no other process can be writing: a shared store's unfinished writes are reclaimed
    // one by one (`delete`) once the metadata says their lease lapsed.
    if (opts.exclusive) {
      for (const f of await readdir(this.#tmp)) {
        await rm(join(this.#tmp, f), { force: true });
        removedTemp++;
      }
    }
    return { removedTemp };
  }

  newKey(kind: 'blob' | 'manifest'): string {
    return newBlobKey(kind);
  }

  #tmpPath(key: string): string {
    if (!KEY_RE.test(key)) throw new Error(`Invalid blob key: ${key}`);
    return join(this.#tmp, key);
  }

  #path(key: string): string {
    if (!KEY_RE.test(key)) throw new Error(`Invalid blob key: ${key}`);
    return join(this.#data, key.slice(-2), key);
  }

  /** Ignores `create(key, { size })`: a file grows as it is written. */
  async create(key: string, opts: { after?: Promise<unknown> } = {}): Promise<BlobWriter> {
    if (this.isManifest(key)) throw new Error(`Not a blob key: ${key}`);
    return FsBlobWriter.open(this, this.#tmpPath(key), key, opts.after);
  }

  /**
   * The whole blob in one go: open, write, fsync (beside `after`), close, then publish. Against
   * create + write + commit for a 1 KiB upload this saves the batch copy and five trips through
   * the libuv pool (each a thread wake-up): open, write, close and rename of a small file run here
   * on the main thread (strace -c: ≈ 25, 10, 3 and 10 µs); only the fsyncs go to the pool.
   */
  async put(key: string, bytes: Buffer, opts: { after?: Promise<unknown> } = {}): Promise<void> {
    if (this.isManifest(key)) throw new Error(`Not a blob key: ${key}`);
    const tmpPath = this.#tmpPath(key);
    // 'wx': a key is written once; a second writer for the same key fails instead of sharing the file.
    const fd = openSync(tmpPath, 'wx');
    try {
      try {
        if (bytes.length <= PUT_SYNC_WRITE) {
          for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off, off);
        } else {
          for (let off = 0; off < bytes.length; ) off += (await writeFd(fd, bytes, off, bytes.length - off, off)).bytesWritten;
        }
        await settledBoth(fsyncFd(fd), opts.after);
      } finally {
        closeSync(fd);
      }
      await this.publish(tmpPath, key);
    } catch (e) {
      // Left in tmp/ when the write, the fsync, `after` or the rename failed; a lapsed lease's
      // reclaim may have removed it already (the rename then failed with ENOENT).
      rmSync(tmpPath, { force: true });
      throw e;
    }
  }

  /** Moves a flushed temp file into place and makes the rename durable. */
  async publish(tmpPath: string, key: string): Promise<void> {
    const shard = key.slice(-2);
    const dir = join(this.#data, shard);
    let ready = this.#shards.get(shard);
    if (!ready) {
      // A new shard directory is itself an entry of data/: make that durable too (power loss).
      // Every publish into the shard waits for that, not only the one that created it.
      ready = mkdir(dir, { recursive: true }).then(async (created) => {
        if (created !== undefined) await this.#syncDir(this.#data);
      });
      this.#shards.set(shard, ready);
      ready.catch(() => this.#shards.delete(shard));
    }
    await ready;
    renameSync(tmpPath, this.#path(key));
    await this.#syncDir(dir);
  }

  /** fsync of a directory through a descriptor kept open, shared by concurrent callers. */
  #syncDir(dir: string): Promise<void> {
    let d = this.#dirs.get(dir);
    if (!d) {
      const fd = openSync(dir, 'r');
      d = { fd, sync: new GroupSync(() => fd) };
      this.#dirs.set(dir, d);
    }
    return d.sync.sync();
  }

  async createManifest(key: string, members: ManifestMember[]): Promise<void> {
    if (!this.isManifest(key)) throw new Error(`Not a manifest key: ${key}`);
    for (const m of members) this.#path(m.key);
    const w = await FsBlobWriter.open(this, this.#tmpPath(key), key);
    try {
      await w.write(Buffer.from(JSON.stringify({ v: 1, members }), 'utf8'));
      await w.commit();
    } catch (e) {
      await w.abort();
      throw e;
    }
  }

  isManifest(key: string): boolean {
    return key.startsWith('m');
  }

  async readInto(key: string, position: number, target: Buffer): Promise<number> {
    if (!(Number.isSafeInteger(position) && position >= 0)) throw new RangeError(`Invalid blob position ${position}`);
    if (!this.isManifest(key)) return readFully(this.#path(key), position, target);
    let offset = 0;
    let filled = 0;
    for (const m of await this.#members(key)) {
      const at = position + filled;
      if (filled === target.length) break;
      if (at < offset + m.size) {
        const want = Math.min(target.length - filled, offset + m.size - at);
        const n = await readFully(this.#path(m.key), at - offset, target.subarray(filled, filled + want));
        filled += n;
        // A member shorter than recorded: the manifest's bytes end here.
        if (n < want) break;
      }
      offset += m.size;
    }
    return filled;
  }

  async #members(key: string): Promise<ManifestMember[]> {
    const doc = JSON.parse(await readFile(this.#path(key), 'utf8')) as { members: ManifestMember[] };
    return doc.members;
  }

  async size(key: string): Promise<number | null> {
    try {
      if (this.isManifest(key)) return (await this.#members(key)).reduce((s, m) => s + m.size, 0);
      return (await stat(this.#path(key))).size;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  read(key: string, start: number, endExclusive: number, signal?: AbortSignal): Readable {
    if (!(Number.isSafeInteger(start) && Number.isSafeInteger(endExclusive) && start >= 0 && endExclusive >= start)) {
      throw new RangeError(`Invalid blob range [${start}, ${endExclusive})`);
    }
    const path = this.#path(key);
    if (!this.isManifest(key)) {
      if (endExclusive === start) return Readable.from([]);
      return createReadStream(path, { start, end: endExclusive - 1, highWaterMark: READ_CHUNK, ...(signal ? { signal } : {}) });
    }
    const self = this;
    async function* gen(): AsyncGenerator<Buffer> {
      let offset = 0;
      for (const m of await self.#members(key)) {
        const from = Math.max(start, offset);
        const to = Math.min(endExclusive, offset + m.size);
        if (from < to) {
          for await (const c of self.read(m.key, from - offset, to - offset, signal)) yield c as Buffer;
        }
        offset += m.size;
        if (offset >= endExclusive) break;
      }
      if (offset < endExclusive) throw new RangeError(`Blob ${key} is shorter (${offset}) than the range end ${endExclusive}`);
    }
    return Readable.from(gen(), { objectMode: false, ...(signal ? { signal } : {}) });
  }

  async check(): Promise<void> {
    for (const dir of [this.#data, this.#tmp]) {
      const st = await stat(dir);
      if (!st.isDirectory()) throw new Error(`${dir} is not a directory`);
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.#path(key), { force: true });
    // An unfinished write: its writer (if still alive) keeps an unlinked file, and its commit fails.
    await rm(this.#tmpPath(key), { force: true });
  }

  async *list(): AsyncIterable<string> {
    let shards: string[];
    try {
      shards = await readdir(this.#data);
    } catch {
      return;
    }
    for (const s of shards) {
      for (const f of await readdir(join(this.#data, s))) if (KEY_RE.test(f)) yield f;
    }
  }

  async close(): Promise<void> {
    const dirs = [...this.#dirs.values()];
    this.#dirs.clear();
    this.#shards.clear();
    for (const d of dirs) {
      await d.sync.idle();
      closeSync(d.fd);
    }
  }
}

/** Waits for both; rejects with the first failure (after both settled, so no fsync outlives its descriptor). */
async function settledBoth(a: Promise<unknown>, b: Promise<unknown> | undefined): Promise<void> {
  const [x, y] = await Promise.allSettled([a, b]);
  if (x.status === 'rejected') throw x.reason;
  if (y.status === 'rejected') throw y.reason;
}

class FsBlobWriter implements BlobWriter {
  bytes = 0;
  readonly key: string;
  #fh: FileHandle | null;
  readonly #store: FsBlobStore;
  readonly #tmpPath: string;
  /**
   * Chunks are copied into a 1 MiB batch (src/lib/batch-pool.ts) and written with one write(2) per
   * MiB: measured here, 256 MiB as writev of 16 × 64 KiB took 656 ms, as concatenated 1 MiB writes
   * 167 ms. Up to WRITES_IN_FLIGHT batches are on their way to the disk while the next one fills:
   * writing a new 256 MiB file one MiB at a time took 724 ms, with four writes in flight 340 ms.
   * A batch is taken when bytes arrive and given back for reuse once written. `writeShared`
   * writes a caller's batch without this copy (ingest).
   */
  #buf: Buffer | null = null;
  #len = 0;
  readonly #inflight: Promise<void>[] = [];
  #error: unknown = null;
  #position = 0;
  #done = false;
  #unsynced = 0;
  #syncing: Promise<void> | null = null;
  /** Waited for beside the final fsync, before the rename (BlobStore.create `after`). */
  readonly #after: Promise<unknown> | undefined;

  private constructor(store: FsBlobStore, fh: FileHandle, tmpPath: string, key: string, after: Promise<unknown> | undefined) {
    this.#store = store;
    this.#fh = fh;
    this.#tmpPath = tmpPath;
    this.key = key;
    this.#after = after;
    // Observed here, so that an `after` that fails before commit is no unhandled rejection.
    after?.catch(() => {});
  }

  static async open(store: FsBlobStore, tmpPath: string, key: string, after?: Promise<unknown>): Promise<FsBlobWriter> {
    // 'wx': a key is written once; a second writer for the same key fails instead of sharing the file.
    const fh = await open(tmpPath, 'wx');
    return new FsBlobWriter(store, fh, tmpPath, key, after);
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.#done || !this.#fh) throw new Error('Blob writer is closed');
    let off = 0;
    while (off < chunk.length) {
      const { buf, copied } = fillBatch((this.#buf ??= takeBatch()), this.#len, chunk, off);
      this.#buf = buf;
      this.#len += copied;
      off += copied;
      this.bytes += copied;
      if (this.#len === WRITE_BATCH) await this.#flush();
    }
  }

  async #flush(): Promise<void> {
    while (this.#inflight.length >= WRITES_IN_FLIGHT) await this.#inflight[0];
    if (this.#error) throw this.#error;
    if (this.#len === 0 || !this.#buf) return;
    const full = this.#buf;
    const len = this.#len;
    this.#buf = null;
    this.#len = 0;
    this.#issue(full, len).then(
      () => giveBatch(full),
      () => {},
    );
  }

  async writeShared(batch: Buffer, len: number): Promise<void> {
    if (this.#done || !this.#fh) throw new Error('Blob writer is closed');
    if (this.#len > 0) throw new Error('writeShared after a partial write');
    if (this.#error) throw this.#error;
    this.bytes += len;
    return this.#issue(batch, len);
  }

  /**
   * Writes `len` bytes of `buf` at the next position; resolves once written. A failure is also
   * kept for the next flush or commit, so it is never lost.
   */
  #issue(buf: Buffer, len: number): Promise<void> {
    const pos = this.#position;
    this.#position += len;
    const written = writeAll(this.#fh!, buf, len, pos);
    const p: Promise<void> = written
      .catch((e: unknown) => {
        this.#error ??= e;
      })
      .finally(() => {
        this.#inflight.splice(this.#inflight.indexOf(p), 1);
      });
    this.#inflight.push(p);
    this.#unsynced += len;
    if (this.#unsynced >= SYNC_EVERY && !this.#syncing) {
      this.#unsynced = 0;
      const fh = this.#fh!;
      this.#syncing = p
        .then(() => fh.datasync())
        .catch((e: unknown) => {
          this.#error ??= e;
        })
        .finally(() => {
          this.#syncing = null;
        });
    }
    return written;
  }

  async #drain(): Promise<void> {
    await Promise.all(this.#inflight);
    if (this.#error) throw this.#error;
  }

  async commit(): Promise<string> {
    if (this.#done || !this.#fh) throw new Error('Blob writer is closed');
    await this.#flush();
    await this.#drain();
    await this.#syncing;
    if (this.#error) throw this.#error;
    const fh = this.#fh;
    await settledBoth(fh.sync(), this.#after);
    await fh.close();
    this.#fh = null;
    // ENOENT when delete(key) removed the unfinished write meanwhile (its lease lapsed).
    await this.#store.publish(this.#tmpPath, this.key);
    this.#done = true;
    return this.key;
  }

  async abort(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    await Promise.all(this.#inflight);
    await this.#syncing;
    if (this.#fh) {
      await this.#fh.close().catch(() => {});
      this.#fh = null;
    }
    await rm(this.#tmpPath, { force: true });
  }
}

async function writeAll(fh: FileHandle, buf: Buffer, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesWritten } = await fh.write(buf, done, length - done, position + done);
    done += bytesWritten;
  }
}

/** Reads from `position` until `target` is full or the file ends; resolves to the bytes read. */
async function readFully(path: string, position: number, target: Buffer): Promise<number> {
  const fh = await open(path, 'r');
  try {
    let n = 0;
    while (n < target.length) {
      const { bytesRead } = await fh.read(target, n, target.length - n, position + n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    return n;
  } finally {
    await fh.close();
  }
}
