import { join } from 'node:path';
import type { Config } from '../../config/schema.js';
import type { BlobStore } from './types.js';
import { FsBlobStore } from './fs/index.js';
import { S3BlobStore } from './s3/index.js';
import { parseS3Url } from './s3/url.js';

/** The settings that choose and reach the blob store. */
export type BlobConfig = Pick<Config, 'dataDir'> &
  Partial<Pick<Config, 'blobUrl' | 's3Endpoint' | 's3Region' | 's3AccessKeyId' | 's3SecretAccessKey' | 's3ForcePathStyle'>>;

/**
 * FIRN_BLOB_URL empty → files under `<dataDir>/blobs`; `s3://bucket/prefix` → that bucket. Opens
 * no connection (the store's `init`/`check` does, and reports a bad endpoint, bucket or key there).
 */
export function openBlobStore(config: BlobConfig): BlobStore {
  if (!config.blobUrl) return new FsBlobStore(join(config.dataDir, 'blobs'));
  const endpoint = config.s3Endpoint || undefined;
  return new S3BlobStore({
    ...parseS3Url(config.blobUrl),
    ...(endpoint ? { endpoint } : {}),
    region: config.s3Region || 'us-east-1',
    ...(config.s3AccessKeyId ? { accessKeyId: config.s3AccessKeyId } : {}),
    ...(config.s3SecretAccessKey ? { secretAccessKey: config.s3SecretAccessKey } : {}),
    // Self-hosted servers rarely have wildcard DNS for bucket.host names; AWS wants virtual hosts.
    forcePathStyle: config.s3ForcePathStyle ?? !!endpoint,
  });
}
