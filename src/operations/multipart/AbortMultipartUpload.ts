import { requireVault } from '../common.js';
import type { Handler } from '../types.js';
import { requireUpload, uploadNotFound } from './upload.js';

/**
 * DELETE /{a}/vaults/{v}/multipart-uploads/{uploadId} → 204. DG api-multipart-abort-upload: "Aborting an
 * already-aborted upload succeeds 'for a short time'; aborting a completed upload fails."
 */
export const AbortMultipartUpload: Handler = async (ctx, input) => {
  const vault = await requireVault(ctx, input);
  const upload = await requireUpload(ctx, input, vault);
  if (upload.state === 'completed') throw uploadNotFound(upload.uploadId);
  if (upload.state === 'active') {
    const r = await ctx.app.store.uploads.abort(upload.uploadId, ctx.now);
    if (r === 'not-active') {
      const again = await ctx.app.store.uploads.get(upload.uploadId);
      if (again?.state === 'completed') throw uploadNotFound(upload.uploadId);
    }
    ctx.app.blobMaintenance.kick();
  }
  return { status: 204 };
};
