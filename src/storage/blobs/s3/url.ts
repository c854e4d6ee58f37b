import { DataDirError } from '../../data-dir.js';

export interface S3Location {
  bucket: string;
  /** '' or a key prefix ending in '/', prepended to every object key. */
  prefix: string;
}

/** An unusable FIRN_BLOB_URL (a DataDirError, so start-up reports it in one line). */
export class BlobUrlError extends DataDirError {}

/**
 * `s3://bucket` or `s3://bucket/some/prefix` (a trailing slash is optional) from FIRN_BLOB_URL.
 * Parsed by hand rather than with URL: bucket names with dots or uppercase letters (legacy ones)
 * must come through unchanged, and a prefix is a key prefix, not a path to normalise.
 */
export function parseS3Url(url: string): S3Location {
  const m = /^s3:\/\/([^/?#]+)(?:\/([^?#]*))?$/.exec(url);
  if (!m) throw new BlobUrlError(`FIRN_BLOB_URL ${JSON.stringify(url)} is not an s3://bucket or s3://bucket/prefix URL`);
  const bucket = m[1]!;
  if (!/^[A-Za-z0-9._-]{3,255}$/.test(bucket)) throw new BlobUrlError(`FIRN_BLOB_URL names an invalid S3 bucket ${JSON.stringify(bucket)}`);
  const path = (m[2] ?? '').replace(/\/+$/, '');
  if (path !== '' && path.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw new BlobUrlError(`FIRN_BLOB_URL has an invalid key prefix ${JSON.stringify(m[2])} (empty, . or .. segments)`);
  }
  return { bucket, prefix: path === '' ? '' : path + '/' };
}
