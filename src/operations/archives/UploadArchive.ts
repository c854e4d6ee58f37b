import { Errors } from '../../domain/errors.js';
import { newArchiveId } from '../../domain/archive-id.js';
import { discardBlob, leaseLostAsRetryable, requireVault, vaultGoneAsNotFound } from '../common.js';
import type { Handler } from '../types.js';
import { archiveDescription, ingestBody, requireContentLength, requireTreeHashHeader } from './ingest.js';

/** "Valid sizes run from 1 byte to 4 GB" in one request (DG api-archive-post). */
export const MAX_SINGLE_UPLOAD = 4 * 1024 * 1024 * 1024;

/**
 * POST /{a}/vaults/{v}/archives → 201 with Location, x-amz-archive-id, x-amz-sha256-tree-hash.
 * The 201 is sent only after the bytes are durable and the metadata transaction committed.
 */
export const UploadArchive: Handler = async (ctx, input) => {
  const vault = await requireVault(ctx, input);
  const length = requireContentLength(input);
  if (length === 0) throw Errors.invalidParameter('Invalid Content-Length: 0. An archive must be at least 1 byte long');
  if (length > MAX_SINGLE_UPLOAD) {
    throw Errors.invalidParameter(`Invalid Content-Length: ${length}. A single upload is at most ${MAX_SINGLE_UPLOAD} bytes; use a multipart upload`);
  }
  const treeHash = requireTreeHashHeader(input);
  const description = archiveDescription(input) ?? '';

  const body = await ingestBody(ctx, input, length, treeHash);
  const now = ctx.app.clock.now();
  const archiveId = newArchiveId(now, vault.id);
  try {
    await ctx.app.store.archives.create(
      { vaultId: vault.id, archiveId, size: body.size, treeHash: body.treeHash, description, createdAt: now, blobKey: body.blobKey },
      body.leaves,
    );
  } catch (e) {
    // The vault was deleted meanwhile, the blob's lease lapsed, or the database failed: the blob is unreferenced.
    await discardBlob(ctx, body.blobKey);
    throw leaseLostAsRetryable(ctx, vaultGoneAsNotFound(ctx, vault.name, e));
  }
  return {
    status: 201,
    headers: {
      Location: `/${ctx.accountId}/vaults/${vault.name}/archives/${archiveId}`,
      'x-amz-archive-id': archiveId,
      'x-amz-sha256-tree-hash': body.treeHash,
    },
  };
};
