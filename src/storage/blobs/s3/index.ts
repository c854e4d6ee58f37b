import { PassThrough, Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import type { BlobStore, BlobWriter, ManifestMember } from '../types.js';
import { KEY_RE, missingBlob, newBlobKey } from '../keys.js';
import { DataDirError } from '../../data-dir.js';
import type { S3Location } from './url.js';

/**
 * Part size of a write of unknown size (S3 multipart). S3 refuses parts under 5 MiB (except the
 * last); one part is buffered at a time, so a writer holds at most this much memory.
 */
const PART = 8 * 1024 * 1024;

const ignore = () => {};
const QUIET = { trace: ignore, debug: ignore, info: ignore, warn: ignore, error: ignore };

export interface S3BlobStoreOptions extends S3Location {
  /** An S3-compatible server; undefined: AWS. */
  endpoint?: string;
  region: string;
  /** Both or neither; neither: the AWS SDK default credential chain. */
  accessKeyId?: string;
  secretAccessKey?: string;
  forcePathStyle: boolean;
}

/** The bucket FIRN_BLOB_URL names cannot be used (a DataDirError: reported in one line at start-up). */
export class BlobStoreConnectError extends DataDirError {}

/**
 * BlobStore on an S3 bucket, under a key prefix: one object per blob (`<prefix><key>`), a manifest
 * is a small JSON object listing its members.
 *
 * Why one object per Glacier part rather than one S3 multipart upload per archive: Glacier parts
 * are 1 MiB × 2^n and arrive in any order, S3 parts must be ≥ 5 MiB (all but the last), so they
 * cannot map onto each other; a manifest (as in the fs store) makes completion O(1) and a ranged
 * read a GET per member the range touches (one or two for a range within or across a boundary).
 *
 * Writes: with a known size (an upload's Content-Length) one PutObject streams the body; with an
 * unknown size a multipart upload is opened at `create` and parts of PART bytes are uploaded one
 * at a time. Either way `commit` resolves only after S3 acknowledged the last byte. An open
 * multipart upload is this store's "temporary bytes": `delete(key)` aborts it (so a pending blob
 * whose writer died is reclaimed and that writer's commit fails with ENOENT), and an exclusive
 * `init` aborts all under the prefix. A PutObject in flight cannot be stopped by another process;
 * if it lands after its pending blob was reclaimed, the holder's metadata commit fails
 * (BlobLeaseLostError) and the writer discards the blob like any failed write.
 */
export class S3BlobStore implements BlobStore {
  readonly kind = 's3' as const;
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  /** "bucket … at endpoint" for messages (no credentials). */
  readonly where: string;

  constructor(opts: S3BlobStoreOptions) {
    this.bucket = opts.bucket;
    this.prefix = opts.prefix;
    this.where = `S3 bucket ${opts.bucket} at ${opts.endpoint ?? `AWS (${opts.region})`}`;
    this.client = new S3Client({
      region: opts.region,
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      forcePathStyle: opts.forcePathStyle,
      ...(opts.accessKeyId && opts.secretAccessKey ? { credentials: { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey } } : {}),
      // By default the SDK adds flexible checksums and sends streaming bodies aws-chunked; radosgw
      // answers those with 411 (STACK.md §4). Integrity is Firn's own tree hash anyway.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // Each upload and download in progress holds a socket for its whole body: the SDK's default
      // of 50 would queue the 51st behind them.
      // Without a logger the SDK writes a console warning for every failed streaming PutObject
      // (an aborted upload too); the failure reaches the caller as an error anyway.
      logger: QUIET,
      requestHandler: { connectionTimeout: 5000, httpAgent: { keepAlive: true, maxSockets: 1024 }, httpsAgent: { keepAlive: true, maxSockets: 1024 } },
    });
  }

  objectKey(key: string): string {
    if (!KEY_RE.test(key)) throw new Error(`Invalid blob key: ${key}`);
    return this.prefix + key;
  }

  async init(opts: { exclusive: boolean }) {
    await this.check();
    let removedTemp = 0;
    // Only when no other process can be writing (embedded metadata): shared stores reclaim their
    // unfinished writes one by one (`delete`) once the metadata says their lease lapsed.
    if (opts.exclusive) {
      for await (const u of this.#uploads(this.prefix)) {
        if (!KEY_RE.test(u.key.slice(this.prefix.length))) continue;
        await this.#abortUpload(u.key, u.uploadId);
        removedTemp++;
      }
    }
    return { removedTemp };
  }

  newKey(kind: 'blob' | 'manifest'): string {
    return newBlobKey(kind);
  }

  /** `after` is awaited first: a PutObject may complete with its last byte, before `commit`. */
  async create(key: string, opts: { size?: number; after?: Promise<unknown> } = {}): Promise<BlobWriter> {
    if (this.isManifest(key)) throw new Error(`Not a blob key: ${key}`);
    const objectKey = this.objectKey(key);
    await opts.after;
    if (opts.size !== undefined) return new S3PutWriter(this, key, objectKey, opts.size);
    const r = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: objectKey }));
    return new S3MultipartWriter(this, key, objectKey, r.UploadId!);
  }

  async put(key: string, bytes: Buffer, opts: { after?: Promise<unknown> } = {}): Promise<void> {
    const w = await this.create(key, { size: bytes.length, ...(opts.after ? { after: opts.after } : {}) });
    try {
      await w.write(bytes);
      await w.commit();
    } catch (e) {
      await w.abort();
      throw e;
    }
  }

  async createManifest(key: string, members: ManifestMember[]): Promise<void> {
    if (!this.isManifest(key)) throw new Error(`Not a manifest key: ${key}`);
    for (const m of members) this.objectKey(m.key);
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key), Body: JSON.stringify({ v: 1, members }), ContentType: 'application/json' }),
    );
  }

  isManifest(key: string): boolean {
    return key.startsWith('m');
  }

  async #members(key: string, signal?: AbortSignal): Promise<ManifestMember[]> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }), signal ? { abortSignal: signal } : {});
      const doc = JSON.parse(await r.Body!.transformToString('utf8')) as { members: ManifestMember[] };
      return doc.members;
    } catch (e) {
      throw asMissing(e, `no manifest ${key} in ${this.where}`);
    }
  }

  async size(key: string): Promise<number | null> {
    try {
      if (this.isManifest(key)) return (await this.#members(key)).reduce((s, m) => s + m.size, 0);
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      return r.ContentLength ?? 0;
    } catch (e) {
      if (isMissing(e) || (e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  /**
   * A Readable that issues its first GET when first read, so a missing object is an error before
   * any data (the HTTP layer then answers an error instead of a cut-short body); ENOENT like the fs store.
   */
  read(key: string, start: number, endExclusive: number, signal?: AbortSignal): Readable {
    if (!(Number.isSafeInteger(start) && Number.isSafeInteger(endExclusive) && start >= 0 && endExclusive >= start)) {
      throw new RangeError(`Invalid blob range [${start}, ${endExclusive})`);
    }
    this.objectKey(key);
    if (endExclusive === start) return Readable.from([]);
    const self = this;
    async function* gen(): AsyncGenerator<Buffer> {
      if (!self.isManifest(key)) {
        yield* self.#get(key, start, endExclusive, signal);
        return;
      }
      let offset = 0;
      for (const m of await self.#members(key, signal)) {
        const from = Math.max(start, offset);
        const to = Math.min(endExclusive, offset + m.size);
        // One GET per member the range touches, in sequence: memory stays one chunk deep.
        if (from < to) yield* self.#get(m.key, from - offset, to - offset, signal);
        offset += m.size;
        if (offset >= endExclusive) break;
      }
      if (offset < endExclusive) throw new RangeError(`Blob ${key} is shorter (${offset}) than the range end ${endExclusive}`);
    }
    return Readable.from(gen(), { objectMode: false, ...(signal ? { signal } : {}) });
  }

  /** One ranged GET of a plain blob, checked to return the whole range. */
  async *#get(key: string, start: number, endExclusive: number, signal?: AbortSignal): AsyncGenerator<Buffer> {
    let body: Readable;
    try {
      const r = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key), Range: `bytes=${start}-${endExclusive - 1}` }),
        signal ? { abortSignal: signal } : {},
      );
      body = r.Body as Readable;
    } catch (e) {
      if (httpStatus(e) === 416) throw new RangeError(`Blob ${key} is shorter than the range [${start}, ${endExclusive})`);
      throw asMissing(e, `no blob ${key} in ${this.where}`);
    }
    let got = 0;
    for await (const c of body) {
      got += (c as Buffer).length;
      yield c as Buffer;
    }
    if (got !== endExclusive - start) throw new RangeError(`Blob ${key} is shorter than the range [${start}, ${endExclusive}) (got ${got} bytes)`);
  }

  /** HeadBucket: turns the ways a bucket cannot be used into one line naming endpoint and bucket. */
  async check(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (e) {
      const status = httpStatus(e);
      const reason =
        status === 404
          ? 'the bucket does not exist (create it first)'
          : status === 403
            ? 'access denied (check FIRN_S3_ACCESS_KEY_ID and FIRN_S3_SECRET_ACCESS_KEY)'
            : status === 301 || status === 400
              ? `the server refused the request (HTTP ${status}; wrong FIRN_S3_REGION or FIRN_S3_FORCE_PATH_STYLE?)`
              : status !== undefined
                ? `HTTP ${status} ${(e as Error).name}`
                : errorText(e);
      throw new BlobStoreConnectError(`cannot use the ${this.where}: ${reason}`, { cause: e });
    }
  }

  async delete(key: string): Promise<void> {
    const objectKey = this.objectKey(key);
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: objectKey }));
    if (this.isManifest(key)) return;
    // An unfinished write: its writer (if still alive) then fails to upload or complete (ENOENT).
    for await (const u of this.#uploads(objectKey)) if (u.key === objectKey) await this.#abortUpload(u.key, u.uploadId);
  }

  async #abortUpload(objectKey: string, uploadId: string): Promise<void> {
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: objectKey, UploadId: uploadId }));
    } catch (e) {
      if (!isMissing(e)) throw e;
    }
  }

  /** Multipart uploads in progress whose key starts with `prefix`. */
  async *#uploads(prefix: string): AsyncGenerator<{ key: string; uploadId: string }> {
    let KeyMarker: string | undefined;
    let UploadIdMarker: string | undefined;
    for (;;) {
      const r = await this.client.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: prefix, KeyMarker, UploadIdMarker }));
      for (const u of r.Uploads ?? []) if (u.Key && u.UploadId) yield { key: u.Key, uploadId: u.UploadId };
      if (!r.IsTruncated) return;
      KeyMarker = r.NextKeyMarker;
      UploadIdMarker = r.NextUploadIdMarker;
    }
  }

  /** How many multipart uploads are open under the prefix (tests: the "temporary bytes"). */
  async openUploads(): Promise<number> {
    let n = 0;
    for await (const _ of this.#uploads(this.prefix)) n++;
    return n;
  }

  async *list(): AsyncIterable<string> {
    let ContinuationToken: string | undefined;
    do {
      const r = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix, ContinuationToken }));
      for (const o of r.Contents ?? []) {
        const k = o.Key?.slice(this.prefix.length);
        if (k && KEY_RE.test(k)) yield k;
      }
      ContinuationToken = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

/** A write of known size: one PutObject streaming the body as it is written. */
class S3PutWriter implements BlobWriter {
  bytes = 0;
  readonly key: string;
  readonly #store: S3BlobStore;
  readonly #objectKey: string;
  readonly #size: number;
  /** Up to 1 MiB queued for the socket (one ingest batch): fewer, larger socket writes than the 16 KiB default. */
  readonly #body = new PassThrough({ highWaterMark: 1024 * 1024 });
  /** Ends the request at once: destroying the body alone leaves it waiting for the missing bytes. */
  readonly #cancel = new AbortController();
  /** The PutObject; settles when S3 answered (or the request failed). */
  readonly #sent: Promise<unknown>;
  #failure: unknown = null;
  #done = false;
  /** The last writeShared: the next one copies its batch after it. */
  #queue: Promise<void> = Promise.resolve();

  constructor(store: S3BlobStore, key: string, objectKey: string, size: number) {
    this.#store = store;
    this.key = key;
    this.#objectKey = objectKey;
    this.#size = size;
    this.#sent = store.client.send(new PutObjectCommand({ Bucket: store.bucket, Key: objectKey, Body: this.#body, ContentLength: size }), {
      abortSignal: this.#cancel.signal,
    });
    this.#sent.catch((e: unknown) => {
      this.#failure ??= e;
      this.#body.destroy();
    });
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.#done) throw new Error('Blob writer is closed');
    if (this.#failure) throw this.#failure;
    if (this.bytes + chunk.length > this.#size) throw new RangeError(`More than the ${this.#size} bytes announced for blob ${this.key}`);
    this.bytes += chunk.length;
    if (this.#body.write(chunk)) return;
    // Backpressure: wait until the request took the bytes, or failed.
    await new Promise<void>((resolve, reject) => {
      const onDrain = () => {
        this.#body.off('close', onClose);
        resolve();
      };
      const onClose = () => {
        this.#body.off('drain', onDrain);
        reject(this.#failure ?? new Error(`The upload of blob ${this.key} ended early`));
      };
      this.#body.once('drain', onDrain);
      this.#body.once('close', onClose);
    });
  }

  /**
   * The request may still hold the bytes when this resolves, so the caller's batch is copied — but
   * only once the writes before it have drained: ingest keeps eight batches in flight, and copying
   * each at once queued eight copies in the body (16 MiB per upload with the batches; three
   * concurrent uploads raised a node's malloc heap by ≈ 50 MB, which it keeps).
   */
  writeShared(batch: Buffer, len: number): Promise<void> {
    const p = this.#queue.then(() => this.write(Buffer.from(batch.subarray(0, len))));
    this.#queue = p.catch(() => {});
    return p;
  }

  async commit(): Promise<string> {
    if (this.#done) throw new Error('Blob writer is closed');
    if (this.bytes !== this.#size) {
      await this.abort();
      throw new RangeError(`Blob ${this.key} got ${this.bytes} of its ${this.#size} bytes`);
    }
    this.#body.end();
    try {
      await this.#sent;
    } catch (e) {
      await this.abort();
      throw e;
    }
    this.#done = true;
    return this.key;
  }

  async abort(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    this.#failure ??= new Error('aborted');
    if (this.bytes < this.#size) {
      // Short of its Content-Length, the PutObject cannot complete on the server: cut it.
      this.#cancel.abort();
      this.#body.destroy();
      await this.#sent.catch(() => {});
      return;
    }
    // Every announced byte was sent (a hash mismatch is found only after the last one): the server
    // completes the object whatever the client does now, even after a cancelled request. So let
    // the request finish, then delete the object; cancelling instead left it behind, unknown to
    // the metadata and never collected.
    this.#body.end();
    await this.#sent.catch(() => {});
    await this.#store.client.send(new DeleteObjectCommand({ Bucket: this.#store.bucket, Key: this.#objectKey }));
  }
}

/** A write of unknown size: a multipart upload of PART-byte parts, one buffered at a time. */
class S3MultipartWriter implements BlobWriter {
  bytes = 0;
  readonly key: string;
  readonly #store: S3BlobStore;
  readonly #objectKey: string;
  readonly #uploadId: string;
  #buf: Buffer | null = null;
  #len = 0;
  readonly #parts: CompletedPart[] = [];
  #done = false;

  constructor(store: S3BlobStore, key: string, objectKey: string, uploadId: string) {
    this.#store = store;
    this.key = key;
    this.#objectKey = objectKey;
    this.#uploadId = uploadId;
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.#done) throw new Error('Blob writer is closed');
    for (let off = 0; off < chunk.length; ) {
      const buf = (this.#buf ??= Buffer.allocUnsafe(PART));
      const n = chunk.copy(buf, this.#len, off);
      this.#len += n;
      off += n;
      this.bytes += n;
      if (this.#len === PART) await this.#uploadPart();
    }
  }

  /** Copies: the caller's batch is free again when this resolves. */
  writeShared(batch: Buffer, len: number): Promise<void> {
    return this.write(batch.subarray(0, len));
  }

  async #uploadPart(): Promise<void> {
    const PartNumber = this.#parts.length + 1;
    try {
      const r = await this.#store.client.send(
        new UploadPartCommand({
          Bucket: this.#store.bucket,
          Key: this.#objectKey,
          UploadId: this.#uploadId,
          PartNumber,
          Body: this.#buf?.subarray(0, this.#len) ?? Buffer.alloc(0),
          ContentLength: this.#len,
        }),
      );
      this.#parts.push({ PartNumber, ETag: r.ETag! });
      this.#len = 0;
    } catch (e) {
      throw asMissing(e, `the upload of blob ${this.key} was aborted (its pending blob was reclaimed)`);
    }
  }

  async commit(): Promise<string> {
    if (this.#done) throw new Error('Blob writer is closed');
    // The last part may be short (or empty, for an empty blob: a multipart upload needs a part).
    if (this.#len > 0 || this.#parts.length === 0) await this.#uploadPart();
    this.#buf = null;
    try {
      await this.#store.client.send(
        new CompleteMultipartUploadCommand({ Bucket: this.#store.bucket, Key: this.#objectKey, UploadId: this.#uploadId, MultipartUpload: { Parts: this.#parts } }),
      );
    } catch (e) {
      throw asMissing(e, `the upload of blob ${this.key} was aborted (its pending blob was reclaimed)`);
    }
    this.#done = true;
    return this.key;
  }

  async abort(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    this.#buf = null;
    try {
      await this.#store.client.send(new AbortMultipartUploadCommand({ Bucket: this.#store.bucket, Key: this.#objectKey, UploadId: this.#uploadId }));
    } catch (e) {
      if (!isMissing(e)) throw e;
    }
  }
}

function httpStatus(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

/** NoSuchKey / NoSuchUpload / a 404 HEAD (which has no error body, so only its status says so). */
function isMissing(e: unknown): boolean {
  const name = (e as Error | null)?.name;
  return name === 'NoSuchKey' || name === 'NoSuchUpload' || name === 'NotFound' || httpStatus(e) === 404;
}

function asMissing(e: unknown, message: string): unknown {
  return isMissing(e) ? missingBlob(message, e) : e;
}

function errorText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  const msg = e instanceof Error ? e.message : String(e);
  return code && !msg.includes(code) ? `${code} ${msg}` : msg || String(code ?? e);
}
