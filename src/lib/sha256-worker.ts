import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { BATCH, fillBatch, giveBatch, takeBatch } from './batch-pool.js';

/**
 * A linear SHA-256 computed on a worker thread. Ingest must verify two hashes per byte (the
 * linear `x-amz-content-sha256` and the tree hash); Node's SHA-256 runs at ~700 MB/s on one core
 * here, so doing both on the main thread caps an upload near 300 MB/s before any I/O. The tree
 * hash stays on the main thread (its leaves are needed there); the linear hash moves here.
 *
 * Bytes are hashed in 1 MiB batches of shared memory (src/lib/batch-pool.ts) that the worker reads
 * in place: `updateShared` hashes a caller's batch without a copy (ingest shares one batch between
 * the file write and both hashes), `update` copies into batches of its own. At most MAX_INFLIGHT
 * batches per hash are queued by `update`, so memory stays bounded when the worker falls behind.
 */
const MAX_INFLIGHT = 8;
/** V8 splits a young generation into two semi-spaces and a large-object space: 1 MiB each. */
const WORKER_YOUNG_MB = 3;

// Plain CommonJS evaluated in the worker: no loader (tsx or dist) is involved.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hashes = new Map();
parentPort.on('message', (m) => {
  if (m.t === 'u') {
    const bytes = new Uint8Array(m.b, 0, m.n);
    if (m.leaf) {
      // Tree mode: every batch is exactly one 1 MiB leaf (the last may be shorter).
      const d = createHash('sha256').update(bytes).digest();
      parentPort.postMessage({ t: 'a', id: m.id, d: new Uint8Array(d) });
      return;
    }
    let h = hashes.get(m.id);
    if (!h) { h = createHash('sha256'); hashes.set(m.id, h); }
    h.update(bytes);
    parentPort.postMessage({ t: 'a', id: m.id });
  } else if (m.t === 'd') {
    const h = hashes.get(m.id) || createHash('sha256');
    hashes.delete(m.id);
    parentPort.postMessage({ t: 'r', id: m.id, hex: h.digest('hex') });
  } else if (m.t === 'x') {
    hashes.delete(m.id);
  } else if (m.t === 'l') {
    // One leaf of a shared batch, hashed where it is (verification of stored bytes).
    const d = createHash('sha256').update(new Uint8Array(m.b, 0, m.n)).digest();
    parentPort.postMessage({ t: 'L', id: m.id, d: new Uint8Array(d) });
  }
});
`;

interface Pending {
  worker: Worker;
  inflight: number;
  /** One per batch in flight, resolved at its ack (acks come in the order batches were sent). */
  acks: (() => void)[];
  waiter: (() => void) | null;
  result: ((hex: string) => void) | null;
  /** Set when the worker died under this hash; the upload then fails (500), never mis-verifies. */
  error: Error | null;
  /** Leaf mode: the digest of each batch, in order (acks arrive in the order batches were sent). */
  leaves: Buffer[] | null;
}

interface LeafCall {
  worker: Worker;
  resolve: (digest: Buffer) => void;
  reject: (e: Error) => void;
}

export class Sha256Worker {
  #worker: Worker | null = null;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  readonly #leafCalls = new Map<number, LeafCall>();

  #ensure(): Worker {
    if (this.#worker) return this.#worker;
    // The worker keeps next to nothing alive (a hash per upload), so a small young generation is
    // plenty; sized like the main thread's (bin/firn.js: 8 MiB semi-spaces) each of the three
    // workers could grow to 16 MiB that an idle node keeps. Small also means frequent scavenges,
    // which drop the worker's handles on batches the pool did not keep, so their memory is freed
    // soon. Hashing 4 × 3 concurrent 512 MiB uploads took the same time (3.7 s) either way.
    const w = new Worker(WORKER_SOURCE, { eval: true, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_MB } });
    w.on('message', (m: { t: string; id: number; hex?: string; d?: Uint8Array }) => {
      if (m.t === 'L') {
        const c = this.#leafCalls.get(m.id);
        if (!c) return;
        this.#leafCalls.delete(m.id);
        this.#maybeUnref(c.worker);
        c.resolve(Buffer.from(m.d!.buffer, m.d!.byteOffset, m.d!.byteLength));
        return;
      }
      const p = this.#pending.get(m.id);
      if (!p) return;
      if (m.t === 'a') {
        p.inflight--;
        if (m.d && p.leaves) p.leaves.push(Buffer.from(m.d.buffer, m.d.byteOffset, m.d.byteLength));
        p.acks.shift()?.();
        const wake = p.waiter;
        p.waiter = null;
        wake?.();
      } else if (m.t === 'r') {
        this.#drop(m.id);
        p.result?.(m.hex!);
      }
    });
    // Hashes in flight fail; the next upload starts a fresh worker.
    const fail = (e: Error) => {
      if (this.#worker === w) this.#worker = null;
      for (const [id, p] of this.#pending) {
        if (p.worker !== w) continue;
        this.#drop(id);
        p.error = e;
        for (const ack of p.acks.splice(0)) ack();
        p.waiter?.();
        p.result?.('');
      }
      for (const [id, c] of this.#leafCalls) {
        if (c.worker !== w) continue;
        this.#leafCalls.delete(id);
        c.reject(e);
      }
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`SHA-256 worker exited with code ${code}`)));
    // Referenced only while a hash is pending (see #drop), so an idle worker never keeps the
    // process alive; unref after the listeners, since attaching one refs the port again.
    w.unref();
    this.#worker = w;
    return w;
  }

  /**
   * Starts a hash; feed it with `update`, finish with `digest` (linear SHA-256) or `leaves` (the
   * 1 MiB leaf digests of the tree hash, `{ leaves: true }`), or `cancel`.
   */
  begin(opts: { leaves?: boolean } = {}): WorkerHash {
    const w = this.#ensure();
    const id = this.#nextId++;
    const p: Pending = { worker: w, inflight: 0, acks: [], waiter: null, result: null, error: null, leaves: opts.leaves ? [] : null };
    this.#pending.set(id, p);
    w.ref();
    return new WorkerHash(this, w, id, p);
  }

  /**
   * The SHA-256 of the first `length` bytes (at most 1 MiB) of a batch from takeBatch(), computed
   * on the worker where the bytes are (shared memory, never copied). The batch must not change
   * until the promise settles.
   */
  hashLeaf(batch: Buffer, length: number): Promise<Buffer> {
    if (!(batch.buffer instanceof SharedArrayBuffer) || batch.byteOffset !== 0 || length > batch.length) throw new Error('a leaf must be hashed from a batch of takeBatch()');
    const w = this.#ensure();
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#leafCalls.set(id, { worker: w, resolve, reject });
      w.ref();
      w.postMessage({ t: 'l', id, b: batch.buffer, n: length });
    });
  }

  #drop(id: number): void {
    const p = this.#pending.get(id);
    if (!p) return;
    this.#pending.delete(id);
    this.#maybeUnref(p.worker);
  }

  #maybeUnref(w: Worker): void {
    const busy = [...this.#pending.values()].some((q) => q.worker === w) || [...this.#leafCalls.values()].some((c) => c.worker === w);
    if (!busy) w.unref();
  }

  /** @internal */
  forget(id: number): void {
    this.#drop(id);
  }

  async close(): Promise<void> {
    const w = this.#worker;
    this.#worker = null;
    if (w) await w.terminate();
  }
}

export class WorkerHash {
  readonly #owner: Sha256Worker;
  readonly #worker: Worker;
  readonly #id: number;
  readonly #p: Pending;
  /** Allocated when bytes arrive (`update`). */
  #buf: Buffer | null = null;
  #len = 0;
  #done = false;

  constructor(owner: Sha256Worker, worker: Worker, id: number, p: Pending) {
    this.#owner = owner;
    this.#worker = worker;
    this.#id = id;
    this.#p = p;
  }

  /** Adds bytes; resolves once the worker is within its queue bound. */
  async update(chunk: Buffer): Promise<void> {
    let off = 0;
    while (off < chunk.length) {
      const { buf, copied } = fillBatch((this.#buf ??= takeBatch()), this.#len, chunk, off);
      this.#buf = buf;
      this.#len += copied;
      off += copied;
      if (this.#len === BATCH) await this.#send();
    }
  }

  async #send(): Promise<void> {
    while (this.#p.inflight >= MAX_INFLIGHT) {
      this.#check();
      await new Promise<void>((resolve) => (this.#p.waiter = resolve));
    }
    const buf = this.#buf!;
    // Given back for reuse once the worker has read it.
    void this.#post(buf, this.#len).then(() => giveBatch(buf));
    this.#buf = null;
    this.#len = 0;
  }

  /**
   * Hashes `len` bytes of a batch from takeBatch() where it is, without copying them; resolves
   * once the worker is done with them (the caller must not change them before). In leaf mode every
   * batch but the last must be exactly BATCH bytes.
   */
  updateShared(batch: Buffer, len: number): Promise<void> {
    return this.#post(batch, len);
  }

  #post(batch: Buffer, n: number): Promise<void> {
    if (!(batch.buffer instanceof SharedArrayBuffer) || batch.byteOffset !== 0) throw new Error('a hash batch must come from takeBatch()');
    this.#check();
    this.#p.inflight++;
    const acked = new Promise<void>((resolve) => this.#p.acks.push(resolve));
    this.#worker.postMessage({ t: 'u', id: this.#id, b: batch.buffer, n, leaf: this.#p.leaves !== null });
    return acked;
  }

  /**
   * Leaf mode: the SHA-256 of every 1 MiB of the input, in order (one digest of nothing for an
   * empty input, as the tree hash defines it).
   */
  async leaves(): Promise<Buffer[]> {
    const leaves = this.#p.leaves;
    if (!leaves) throw new Error('this hash was not started in leaf mode');
    this.#check();
    if (this.#len > 0) await this.#send();
    while (this.#p.inflight > 0) {
      this.#check();
      await new Promise<void>((resolve) => (this.#p.waiter = resolve));
    }
    this.#check();
    this.#done = true;
    this.#owner.forget(this.#id);
    return leaves.length > 0 ? leaves : [createHash('sha256').digest()];
  }

  /** The hex digest of everything added. */
  async digest(): Promise<string> {
    this.#check();
    if (this.#len > 0) await this.#send();
    this.#check();
    this.#done = true;
    const hex = await new Promise<string>((resolve) => {
      this.#p.result = resolve;
      this.#worker.postMessage({ t: 'd', id: this.#id });
    });
    this.#check();
    return hex;
  }

  #check(): void {
    if (this.#p.error) throw this.#p.error;
  }

  /** Drops the hash (the upload failed). */
  cancel(): void {
    if (this.#done) return;
    this.#done = true;
    this.#owner.forget(this.#id);
    try {
      this.#worker.postMessage({ t: 'x', id: this.#id });
    } catch {
      // The worker is gone; nothing to drop.
    }
  }
}
