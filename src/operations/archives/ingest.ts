import { createHash } from 'node:crypto';
import { Errors } from '../../domain/errors.js';
import { reduceDigests } from '../../domain/treehash.js';
import type { OpContext, OpInput } from '../types.js';
import { blobWriteLeaseLost, discardBlob, header, leaseLostAsRetryable } from '../common.js';
import type { BlobWriter } from '../../storage/blobs/types.js';
import { Sha256Worker } from '../../lib/sha256-worker.js';
import { withIdleTimeout } from '../../lib/streams.js';
import { streamed } from '../../lib/gc.js';
import { BATCH, fillBatch, giveBatch, takeBatch } from '../../lib/batch-pool.js';

const BATCHES_IN_FLIGHT = 8;

/**
 * A body of at most one tree-hash leaf (1 MiB) has a tree hash equal to its SHA-256, so one hash
 * on the main thread verifies both, and the blob is written in one piece (BlobStore.put). Handing
 * such a body to the two hash workers cost more than hashing it: two round trips per batch and
 * per worker (measured in bench/upload-latency.ts, see the commit message).
 */
const SMALL_BODY = BATCH;
/** Small bodies above this size are assembled in a pooled batch instead of a fresh buffer. */
const POOLED_BODY = 64 * 1024;

/**
 * Two worker threads per process hash every upload: one keeps the linear SHA-256 of each body,
 * the other returns the SHA-256 of each 1 MiB leaf of its tree hash. The main thread only copies
 * bytes and writes them, so on a multi-core machine both hashes and the receive run side by side.
 * Created on first use and unref'd: no work at import time, and they never keep the process alive.
 */
let linearWorker: Sha256Worker | null = null;
let leafWorker: Sha256Worker | null = null;

export const TREE_HASH_RE = /^[0-9a-f]{64}$/;

/** The message SigV4 verification gives for a body that does not match its signed hash. */
export const CONTENT_SHA256_MISMATCH = "The provided 'x-amz-content-sha256' header does not match what was computed.";

/** Required `x-amz-sha256-tree-hash`: 64 hex digits. */
export function requireTreeHashHeader(input: OpInput): string {
  const v = header(input, 'x-amz-sha256-tree-hash');
  if (v === undefined || v === '') throw Errors.missingParameter('Required header x-amz-sha256-tree-hash is missing');
  if (!/^[0-9a-fA-F]{64}$/.test(v)) throw Errors.invalidParameter(`Invalid x-amz-sha256-tree-hash: ${v}; expected 64 hexadecimal digits`);
  return v.toLowerCase();
}

/**
 * Required `Content-Length` of an upload body (DG api-archive-post: "Content-Length is required"). A
 * chunked body has none and is refused before a byte of it is read.
 */
export function requireContentLength(input: OpInput): number {
  const v = header(input, 'content-length');
  if (v === undefined) throw Errors.missingParameter('Required header Content-Length is missing');
  // Refused unless exact as a number, so every later message quotes the value the client sent.
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw Errors.invalidParameter(`Invalid Content-Length: ${v}`);
  return Number(v);
}

export interface Ingested {
  blobKey: string;
  size: number;
  treeHash: string;
  /** Packed 32-byte leaf digests. */
  leaves: Buffer;
}

/**
 * Streams the request body into a new blob while computing the linear SHA-256 and the tree hash,
 * then checks both against what the client signed and declared. The blob's key is recorded as
 * pending under this process's lease (`store.blobs.beginDeferred`) before the first byte is
 * written, so that no other process takes it for an orphan and, if this one dies, the sweep
 * reclaims it; that record is durable before the blob is published. Only a body that matches both
 * hashes is committed (fsync, rename, fsync dir); the caller's metadata
 * commit then turns the blob live and must `discardBlob` it when that fails. On any failure here
 * (a full disk included) the temp file is removed, the pending blob discarded and nothing is
 * stored; a lapsed lease answers a retryable 503. Memory use is bounded by the writer's batch,
 * whatever the size.
 */
export async function ingestBody(ctx: OpContext, input: OpInput, expectedLength: number, declaredTreeHash: string): Promise<Ingested> {
  const stream = input.stream;
  if (!stream) throw Errors.missingParameter('The request body is missing');
  // Refused before a byte is read when it would eat into the free-space reserve. Bytes bound for
  // S3 take no room on this disk (it still holds the metadata, so a disk below the reserve refuses).
  const release = await ctx.app.space.admit(ctx.app.blobs.kind === 'fs' ? expectedLength : 0);
  try {
    return await ingestAdmitted(ctx, stream, input, expectedLength, declaredTreeHash);
  } finally {
    release();
  }
}

async function ingestAdmitted(ctx: OpContext, stream: NonNullable<OpInput['stream']>, input: OpInput, expectedLength: number, declaredTreeHash: string): Promise<Ingested> {
  const { blobs, store, leases } = ctx.app;
  const blobKey = blobs.newKey('blob');
  // The pending record is committed now and made durable while the body streams in (a WAL fsync
  // shared with other uploads on SQLite); the blob store publishes nothing under the key before
  // that (`after`), so a published blob is always known to the metadata, even after power loss.
  const { durable } = await store.blobs.beginDeferred(blobKey, leases.owner, leases.until());
  if (expectedLength <= SMALL_BODY) return ingestSmall(ctx, stream, input, expectedLength, declaredTreeHash, blobKey, durable);
  let writer: BlobWriter | null = null;
  const linear = (linearWorker ??= new Sha256Worker()).begin();
  const tree = (leafWorker ??= new Sha256Worker()).begin({ leaves: true });
  try {
    // The size is known (Content-Length): the S3 store streams it in one PutObject.
    writer = await blobs.create(blobKey, { size: expectedLength, after: durable });
    const w = writer;
    let size = 0;
    // Each byte is copied once, into a shared batch that the file write and both hashes read in
    // place; the first batch is sized to the body. A batch goes back to the pool when all three
    // are done with it, and at most BATCHES_IN_FLIGHT per upload are (backpressure).
    const inflight: Promise<void>[] = [];
    let batch: Buffer | null = null;
    let len = 0;
    const dispatch = async () => {
      const b = batch!;
      const n = len;
      batch = null;
      len = 0;
      streamed(n);
      const done = Promise.all([linear.updateShared(b, n), tree.updateShared(b, n), w.writeShared(b, n)]).then(() => giveBatch(b));
      done.catch(() => {}); // awaited below, or abandoned when the upload fails
      inflight.push(done);
      if (inflight.length >= BATCHES_IN_FLIGHT) await inflight.shift();
    };
    for await (const chunk of withIdleTimeout(stream as AsyncIterable<Buffer>, ctx.app.config.uploadBodyTimeout)) {
      size += chunk.length;
      for (let off = 0; off < chunk.length; ) {
        const r = fillBatch((batch ??= takeBatch(expectedLength - size + chunk.length - off)), len, chunk, off);
        batch = r.buf;
        len += r.copied;
        off += r.copied;
        if (len === BATCH) await dispatch();
      }
    }
    if (len > 0) await dispatch();
    await Promise.all(inflight);
    if (size !== expectedLength) {
      throw Errors.invalidParameter(`The request body was ${size} bytes long but Content-Length is ${expectedLength}`);
    }
    const [linearHash, leafList] = await Promise.all([linear.digest(), tree.leaves()]);
    const d = { size, treeHash: reduceDigests(leafList).toString('hex'), leaves: Buffer.concat(leafList) };
    if (input.contentSha256 !== null && linearHash !== input.contentSha256) {
      throw Errors.invalidSignature(CONTENT_SHA256_MISMATCH);
    }
    if (d.treeHash !== declaredTreeHash) {
      throw Errors.invalidParameter(
        `Checksum mismatch: the x-amz-sha256-tree-hash header is ${declaredTreeHash} but the tree hash of the received body is ${d.treeHash}`,
      );
    }
    await w.commit().catch((e: unknown) => {
      throw blobWriteLeaseLost(e, blobKey);
    });
    return { blobKey, size: d.size, treeHash: d.treeHash, leaves: d.leaves };
  } catch (e) {
    linear.cancel();
    tree.cancel();
    await writer?.abort();
    await discardBlob(ctx, blobKey);
    throw leaseLostAsRetryable(ctx, e);
  }
}

/**
 * ingestAdmitted for a body of at most one leaf: the chunks are hashed as they arrive and
 * assembled in one buffer (the only chunk itself, when the body came in one), which is then
 * stored in one go. Same checks, same order, same errors as the streaming path.
 */
async function ingestSmall(
  ctx: OpContext,
  stream: NonNullable<OpInput['stream']>,
  input: OpInput,
  expectedLength: number,
  declaredTreeHash: string,
  blobKey: string,
  durable: Promise<void>,
): Promise<Ingested> {
  let pooled: Buffer | null = null;
  try {
    const hash = createHash('sha256');
    let body: Buffer | null = null;
    let size = 0;
    for await (const chunk of withIdleTimeout(stream as AsyncIterable<Buffer>, ctx.app.config.uploadBodyTimeout)) {
      // Past Content-Length the body is only counted, for the error below.
      if (size + chunk.length <= expectedLength) {
        if (size === 0 && chunk.length === expectedLength) {
          body = chunk;
        } else {
          if (!body) {
            pooled = expectedLength > POOLED_BODY ? takeBatch(BATCH) : null;
            body = pooled ? pooled.subarray(0, expectedLength) : Buffer.allocUnsafe(expectedLength);
          }
          chunk.copy(body, size);
        }
        hash.update(chunk);
      }
      size += chunk.length;
    }
    if (size !== expectedLength) {
      throw Errors.invalidParameter(`The request body was ${size} bytes long but Content-Length is ${expectedLength}`);
    }
    body ??= Buffer.alloc(0);
    // One leaf: the tree hash is the SHA-256 of the body.
    const digest = hash.digest();
    const hex = digest.toString('hex');
    if (input.contentSha256 !== null && hex !== input.contentSha256) {
      throw Errors.invalidSignature(CONTENT_SHA256_MISMATCH);
    }
    if (hex !== declaredTreeHash) {
      throw Errors.invalidParameter(
        `Checksum mismatch: the x-amz-sha256-tree-hash header is ${declaredTreeHash} but the tree hash of the received body is ${hex}`,
      );
    }
    await ctx.app.blobs.put(blobKey, body, { after: durable }).catch((e: unknown) => {
      throw blobWriteLeaseLost(e, blobKey);
    });
    return { blobKey, size, treeHash: hex, leaves: digest };
  } catch (e) {
    await discardBlob(ctx, blobKey);
    throw leaseLostAsRetryable(ctx, e);
  } finally {
    if (pooled) giveBatch(pooled);
  }
}

/** Archive description header: ≤ 1,024 printable ASCII characters (DG api-archive-post). */
export function archiveDescription(input: OpInput): string | null {
  const v = header(input, 'x-amz-archive-description');
  if (v === undefined) return null;
  if (v.length > 1024 || !/^[\x20-\x7e]*$/.test(v)) {
    throw Errors.invalidParameter('Invalid archive description: it must be at most 1024 printable ASCII characters (0x20-0x7E)');
  }
  return v;
}
