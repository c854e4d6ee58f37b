import type { Readable } from 'node:stream';

/**
 * Archive bytes (files in the data directory, or objects in an S3 bucket). The job system
 * relies on `read`.
 */
export interface BlobReaderContract {
  /** Streams bytes [start, endExclusive) of a blob. */
  read(blobKey: string, start: number, endExclusive: number, signal?: AbortSignal): Readable;
  /**
   * Optional, for stores that can read in place (the fs store): copies the blob's bytes from
   * `position` into `target` until it is full or the blob ends, and resolves to how many were
   * copied. ENOENT when the blob (or a manifest's member) is missing, as `read`. Verification
   * (src/storage/verify.ts) reads whole leaves this way into pooled buffers, allocating nothing
   * per MiB; stores without it are read through `read`.
   */
  readInto?(blobKey: string, position: number, target: Buffer): Promise<number>;
}

/** One blob being written. Nothing is visible under a key until `commit` resolves. */
export interface BlobWriter {
  /** The key the blob will have (chosen before the first byte, so that it can be recorded as pending). */
  readonly key: string;
  /** Appends bytes; resolves when the store can take more (backpressure). */
  write(chunk: Buffer): Promise<void>;
  /**
   * Appends `len` bytes of a batch from takeBatch() (src/lib/batch-pool.ts) without copying them;
   * resolves once they are written (the caller keeps the batch unchanged until then, and may have
   * several in flight). Not to be mixed with `write` on one writer.
   */
  writeShared(batch: Buffer, len: number): Promise<void>;
  /**
   * Makes the bytes durable and visible under `key`, and returns it. For the fs store:
   * flush → fsync → rename into place → fsync the directory (DESIGN "Commit atomically" 1–4;
   * the caller commits the metadata row, step 5).
   */
  commit(): Promise<string>;
  /** Discards everything written. Idempotent; safe after a failed write or commit. */
  abort(): Promise<void>;
  /** Bytes written so far. */
  readonly bytes: number;
}

export interface ManifestMember {
  key: string;
  size: number;
}

/**
 * Where archive and part bytes live. Keys are opaque strings of [A-Za-z0-9_-] chosen by the
 * store. Reference counting is not the store's business: the MetadataStore (`store.blobs`) decides
 * when a key is garbage and the collector then calls `delete`.
 *
 * Every implementation must pass the suite in test/conformance/blobstore-suite.ts (run by
 * blobstore-fs.test.ts and blobstore-s3.test.ts).
 */
export interface BlobStore extends BlobReaderContract {
  readonly kind: 'fs' | 's3';
  /**
   * Prepares the store. `exclusive` (embedded mode: this process is the only writer) also removes
   * temporary leftovers of writes a crash interrupted; shared stores never touch others' writes
   * (their pending blobs are reclaimed through the metadata's leases, then `delete`).
   */
  init(opts: { exclusive: boolean }): Promise<{ removedTemp: number }>;
  /** A fresh key for a blob or a manifest (no I/O): recorded as pending before anything is written. */
  newKey(kind: 'blob' | 'manifest'): string;
  /**
   * Starts writing the blob `key` (from newKey('blob')). `size`, when the caller knows it (an
   * upload's Content-Length), lets the S3 store stream the bytes in one PutObject; the writer must
   * then get exactly that many bytes before `commit`. `after` (e.g. the durability of the blob's
   * pending record, `store.blobs.beginDeferred`): nothing is published under the key before it
   * resolves, and if it rejects, `commit` rejects and publishes nothing. The fs store waits for it
   * at `commit`, beside its own fsync; the S3 store, whose PutObject may complete with the last
   * byte, waits for it before it sends anything.
   */
  create(key: string, opts?: { size?: number; after?: Promise<unknown> }): Promise<BlobWriter>;
  /**
   * Stores the whole blob `key` (from newKey('blob')) at once: what create + write + commit do, in
   * fewer steps (small uploads). `bytes` must stay unchanged until it settles. `after` as for
   * `create`. On failure nothing is published and no temporary bytes are left.
   */
  put(key: string, bytes: Buffer, opts?: { after?: Promise<unknown> }): Promise<void>;
  /**
   * Stores the manifest `key` (from newKey('manifest')): a blob whose bytes are its members' bytes
   * back to back. Completing a multipart upload writes one of these instead of copying GiBs of
   * parts into a new file. The members must stay until the manifest is deleted (the metadata
   * store's refcounts see to that).
   */
  createManifest(key: string, members: ManifestMember[]): Promise<void>;
  /** Whether a key is a manifest (its members are then separate blobs). */
  isManifest(key: string): boolean;
  /** The blob's length in bytes, or null if there is no such blob. */
  size(key: string): Promise<number | null>;
  /**
   * Deletes one blob, committed or still being written (its temporary bytes), so that a pending
   * blob whose writer died is reclaimed too. A manifest's members are not touched. Idempotent.
   */
  delete(key: string): Promise<void>;
  /** Resolves when the store can be reached (readiness checks); rejects with the reason otherwise. */
  check(): Promise<void>;
  /** Every committed key, in no particular order (operators' checks; never used to decide what to delete). */
  list(): AsyncIterable<string>;
  close(): Promise<void>;
}
