import { Errors } from '../../domain/errors.js';
import { newArchiveId } from '../../domain/archive-id.js';
import { reduceDigests } from '../../domain/treehash.js';
import type { UploadRecord, VaultRecord } from '../../storage/metadata/types.js';
import { blobWriteLeaseLost, discardBlob, header, leaseLostAsRetryable, requireVault, vaultGoneAsNotFound } from '../common.js';
import type { Handler, OpContext, OpResult } from '../types.js';
import { requireTreeHashHeader } from '../archives/ingest.js';
import { isIdleExpired, MAX_PART_SIZE, MAX_PARTS, requireUpload, uploadNotFound } from './upload.js';

function created(ctx: OpContext, vault: VaultRecord, archiveId: string, treeHash: string): OpResult {
  return {
    status: 201,
    headers: {
      Location: `/${ctx.accountId}/vaults/${vault.name}/archives/${archiveId}`,
      'x-amz-archive-id': archiveId,
      'x-amz-sha256-tree-hash': treeHash,
    },
  };
}

/** DG api-multipart-complete-upload: "Idempotent for a short period after success: a repeat returns the same archive ID". */
function repeat(ctx: OpContext, vault: VaultRecord, u: UploadRecord, size: number, treeHash: string): OpResult {
  if (u.state !== 'completed' || u.archiveId === null) throw uploadNotFound(u.uploadId);
  if (u.archiveSize !== size || u.treeHash !== treeHash) {
    throw Errors.invalidParameter(
      `Upload ${u.uploadId} was already completed as an archive of ${u.archiveSize} bytes with tree hash ${u.treeHash}; this request gives ${size} bytes and ${treeHash}`,
    );
  }
  return created(ctx, vault, u.archiveId, u.treeHash);
}

/**
 * POST /{a}/vaults/{v}/multipart-uploads/{uploadId} → 201 with Location, x-amz-archive-id and
 * x-amz-sha256-tree-hash. Validates without re-reading a byte: the parts' tree hashes are
 * subtrees of the archive's tree (DG checksum-calculations Composition). Any failure leaves the upload intact and
 * retryable. The archive is a manifest of the part blobs, so nothing is copied.
 */
export const CompleteMultipartUpload: Handler = async (ctx, input) => {
  const vault = await requireVault(ctx, input);
  const upload = await requireUpload(ctx, input, vault);
  const rawSize = header(input, 'x-amz-archive-size');
  if (rawSize === undefined || rawSize === '') throw Errors.missingParameter('Required header x-amz-archive-size is missing');
  if (!/^\d+$/.test(rawSize)) throw Errors.invalidParameter(`Invalid x-amz-archive-size: ${rawSize}`);
  const size = Number(rawSize);
  // Beyond 10,000 parts of 4 GiB no upload can match; refused here, before a rounded size is quoted.
  if (size > MAX_PARTS * MAX_PART_SIZE) {
    throw Errors.invalidParameter(`Invalid x-amz-archive-size: ${rawSize}. An archive is at most ${MAX_PARTS * MAX_PART_SIZE} bytes (10,000 parts of 4 GiB)`);
  }
  const treeHash = requireTreeHashHeader(input);
  if (upload.state !== 'active') return repeat(ctx, vault, upload, size, treeHash);
  if (isIdleExpired(ctx, upload)) throw uploadNotFound(upload.uploadId);

  const parts = await ctx.app.store.uploads.allParts(upload.uploadId);
  if (parts.length === 0) throw Errors.invalidParameter(`Upload ${upload.uploadId} has no parts`);
  let total = 0;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    const start = i * upload.partSize;
    if (p.index !== i) {
      throw Errors.invalidParameter(`Missing part: the range ${start}-${start + upload.partSize - 1} has not been uploaded`);
    }
    if (i < parts.length - 1 && p.size !== upload.partSize) {
      throw Errors.invalidParameter(
        `Part ${start}-${start + p.size - 1} is ${p.size} bytes; every part but the last must be the part size, ${upload.partSize} bytes`,
      );
    }
    total += p.size;
  }
  if (total !== size) {
    throw Errors.invalidParameter(`Archive size mismatch: x-amz-archive-size is ${size} but the uploaded parts hold ${total} bytes`);
  }
  const computed = reduceDigests(parts.map((p) => Buffer.from(p.treeHash, 'hex'))).toString('hex');
  if (computed !== treeHash) {
    throw Errors.invalidParameter(`Checksum mismatch: the x-amz-sha256-tree-hash header is ${treeHash} but the tree hash of the uploaded parts is ${computed}`);
  }

  // Recorded as pending under this process's lease before it is written, like every blob.
  const { blobs, store, leases } = ctx.app;
  const manifestKey = blobs.newKey('manifest');
  await store.blobs.begin(manifestKey, leases.owner, leases.until());
  try {
    await blobs.createManifest(
      manifestKey,
      parts.map((p) => ({ key: p.blobKey, size: p.size })),
    );
  } catch (e) {
    await discardBlob(ctx, manifestKey);
    throw leaseLostAsRetryable(ctx, blobWriteLeaseLost(e, manifestKey));
  }
  const now = ctx.app.clock.now();
  const archiveId = newArchiveId(now, vault.id);
  let r: 'ok' | 'not-active' | 'parts-changed';
  try {
    r = await ctx.app.store.uploads.complete(
      upload.uploadId,
      { vaultId: vault.id, archiveId, size, treeHash, description: upload.description ?? '', createdAt: now, blobKey: manifestKey },
      parts.map((p) => p.blobKey),
      now,
    );
  } catch (e) {
    await discardBlob(ctx, manifestKey);
    throw leaseLostAsRetryable(ctx, vaultGoneAsNotFound(ctx, vault.name, e));
  }
  if (r === 'parts-changed') {
    ctx.app.blobMaintenance.kick();
    throw Errors.invalidParameter(`A part of upload ${upload.uploadId} was uploaded again while it was being completed; retry the completion`);
  }
  if (r === 'not-active') {
    // A concurrent Complete (or Abort) won; its manifest is the archive, ours is garbage.
    ctx.app.blobMaintenance.kick();
    const again = await ctx.app.store.uploads.get(upload.uploadId);
    if (!again) throw uploadNotFound(upload.uploadId);
    return repeat(ctx, vault, again, size, treeHash);
  }
  return created(ctx, vault, archiveId, treeHash);
};
