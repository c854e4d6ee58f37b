import { Errors } from '../../domain/errors.js';
import { parseLimit, requireVault } from '../common.js';
import type { Handler } from '../types.js';
import { uploadJson } from './upload.js';

/**
 * GET /{a}/vaults/{v}/multipart-uploads?limit&marker → 200 `{"Marker","UploadsList"}`.
 * `limit` 1–50 (default 50). As in the DG example, the Marker is the id of the next upload not yet
 * returned; uploads come in creation order (their ids are time-ordered).
 */
export const ListMultipartUploads: Handler = async (ctx, input) => {
  const vault = await requireVault(ctx, input);
  const limit = parseLimit(input, 50, 50);
  const marker = input.query.get('marker');
  if (marker !== null && marker !== '' && !/^[A-Za-z0-9_-]{1,200}$/.test(marker)) throw Errors.invalidParameter(`Invalid marker: ${marker}`);
  // Uploads idle past the expiry are gone even before the sweep reclaims them (see isIdleExpired).
  const rows = await ctx.app.store.uploads.listActive(vault.id, marker || null, ctx.now - ctx.app.config.uploadIdleExpiry, limit + 1);
  const page = rows.slice(0, limit);
  const next = rows.length > limit ? rows[limit]! : null;
  return {
    status: 200,
    json: {
      Marker: next ? next.uploadId : null,
      UploadsList: page.map((u) => uploadJson(ctx, vault, u)),
    },
  };
};
