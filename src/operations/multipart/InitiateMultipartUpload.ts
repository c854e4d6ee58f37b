import { Errors } from '../../domain/errors.js';
import { newUploadId } from '../../domain/archive-id.js';
import { header, requireVault, vaultGoneAsNotFound } from '../common.js';
import type { Handler } from '../types.js';
import { archiveDescription } from '../archives/ingest.js';
import { isValidPartSize } from './upload.js';

/** POST /{a}/vaults/{v}/multipart-uploads → 201 with Location and x-amz-multipart-upload-id. */
export const InitiateMultipartUpload: Handler = async (ctx, input) => {
  const vault = await requireVault(ctx, input);
  const raw = header(input, 'x-amz-part-size');
  // The model marks partSize optional, the service requires it (botocore model; aws/aws-sdk#634).
  if (raw === undefined || raw === '') throw Errors.missingParameter('Required header x-amz-part-size is missing');
  const partSize = /^\d{1,13}$/.test(raw) ? Number(raw) : NaN;
  if (!isValidPartSize(partSize)) {
    throw Errors.invalidParameter(
      `Invalid part size: ${raw}. The part size must be a megabyte (1024 KB) multiplied by a power of 2, for example 1048576 (1 MB), 2097152 (2 MB), 4194304 (4 MB), 8388608 (8 MB), and so on. The minimum allowable part size is 1 MB, and the maximum is 4 GB (4096 MB).`,
    );
  }
  const description = archiveDescription(input);
  const uploadId = newUploadId(ctx.now);
  try {
    await ctx.app.store.uploads.create({ uploadId, vaultId: vault.id, partSize, description, now: ctx.now });
  } catch (e) {
    throw vaultGoneAsNotFound(ctx, vault.name, e);
  }
  return {
    status: 201,
    headers: {
      Location: `/${ctx.accountId}/vaults/${vault.name}/multipart-uploads/${uploadId}`,
      'x-amz-multipart-upload-id': uploadId,
    },
  };
};
