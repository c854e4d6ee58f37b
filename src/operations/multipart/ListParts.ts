import { Errors } from '../../domain/errors.js';
import { parseLimit, requireVault } from '../common.js';
import type { Handler } from '../types.js';
import { MAX_PARTS, requireActiveUpload, uploadJson } from './upload.js';

/**
 * GET /{a}/vaults/{v}/multipart-uploads/{uploadId}?limit&marker → 200. Parts sorted by range,
 * `limit` 1–50 (default 50). The marker is opaque to clients: here the index of the next part.
 */
export const ListParts: Handler = async (ctx, input) => {
  const vault = await requireVault(ctx, input);
  const upload = await requireActiveUpload(ctx, input, vault);
  const limit = parseLimit(input, 50, 50);
  const marker = input.query.get('marker');
  let from = 0;
  if (marker !== null && marker !== '') {
    if (!/^\d{1,5}$/.test(marker) || Number(marker) >= MAX_PARTS) throw Errors.invalidParameter(`Invalid marker: ${marker}`);
    from = Number(marker);
  }
  const parts = await ctx.app.store.uploads.listParts(upload.uploadId, from, limit + 1);
  const page = parts.slice(0, limit);
  const next = parts.length > limit ? parts[limit]! : null;
  const u = uploadJson(ctx, vault, upload);
  // Alphabetical key order, as in the DG example and the other Glacier responses.
  return {
    status: 200,
    json: {
      ArchiveDescription: u.ArchiveDescription,
      CreationDate: u.CreationDate,
      Marker: next ? String(next.index) : null,
      MultipartUploadId: u.MultipartUploadId,
      PartSizeInBytes: u.PartSizeInBytes,
      Parts: page.map((p) => {
        const start = p.index * upload.partSize;
        return { RangeInBytes: `${start}-${start + p.size - 1}`, SHA256TreeHash: p.treeHash };
      }),
      VaultARN: u.VaultARN,
    },
  };
};
