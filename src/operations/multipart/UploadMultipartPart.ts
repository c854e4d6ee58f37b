import { Errors } from '../../domain/errors.js';
import { discardBlob, header, leaseLostAsRetryable, requireVault } from '../common.js';
import type { Handler } from '../types.js';
import { ingestBody, requireContentLength, requireTreeHashHeader } from '../archives/ingest.js';
import { MAX_PARTS, requireActiveUpload, uploadNotFound } from './upload.js';

/**
 * PUT /{a}/vaults/{v}/multipart-uploads/{uploadId} → 204 with x-amz-sha256-tree-hash.
 *
 * Each part is its own blob (not a region of one sparse file): parts arrive in any order and in
 * parallel, a re-upload must replace a part atomically (a rename, and one row), and a part that
 * failed verification must leave the earlier copy intact. Completion then lists the part blobs in
 * a manifest, so no byte is copied again.
 */
export const UploadMultipartPart: Handler = async (ctx, input) => {
  const vault = await requireVault(ctx, input);
  const upload = await requireActiveUpload(ctx, input, vault);

  const range = header(input, 'content-range');
  if (range === undefined) throw Errors.missingParameter('Required header Content-Range is missing');
  // `bytes S-E/*` is what every client sends; a numeric total (RFC 9110 form) is tolerated.
  // Any digit count: a value beyond 2^53 rounds, but it is past the 10,000th part whatever it rounds to.
  const m = /^bytes (\d+)-(\d+)\/(?:\*|\d+)$/.exec(range);
  if (!m) throw Errors.invalidParameter(`Invalid Content-Range: ${range}. The format is "bytes <first byte>-<last byte>/*"`);
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end < start) throw Errors.invalidParameter(`Invalid Content-Range: ${range}. The last byte is before the first`);
  const length = end - start + 1;
  // DG api-upload-part: rejected if "S is not a multiple of the part size, or the length exceeds the part size".
  if (start % upload.partSize !== 0 || length > upload.partSize) {
    throw Errors.invalidParameter(`Content-Range: ${range} is incompatible with the part size ${upload.partSize}: a part starts at a multiple of the part size and is at most one part long`);
  }
  const index = start / upload.partSize;
  if (index >= MAX_PARTS) throw Errors.invalidParameter(`Content-Range: ${range} is beyond the maximum of ${MAX_PARTS} parts`);
  const contentLength = requireContentLength(input);
  if (contentLength !== length) {
    throw Errors.invalidParameter(`Content-Length ${contentLength} does not match the Content-Range ${range} (${length} bytes)`);
  }
  const treeHash = requireTreeHashHeader(input);

  const body = await ingestBody(ctx, input, length, treeHash);
  const now = ctx.app.clock.now();
  let r: 'ok' | 'not-active';
  try {
    r = await ctx.app.store.uploads.putPart(upload.uploadId, { index, size: body.size, treeHash: body.treeHash, blobKey: body.blobKey }, body.leaves, now);
  } catch (e) {
    await discardBlob(ctx, body.blobKey);
    throw leaseLostAsRetryable(ctx, e);
  }
  // A re-upload released the previous copy, an abort raced us: either way there is garbage.
  ctx.app.blobMaintenance.kick();
  if (r === 'not-active') throw uploadNotFound(upload.uploadId);
  return { status: 204, headers: { 'x-amz-sha256-tree-hash': body.treeHash } };
};
