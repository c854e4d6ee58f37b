import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlobUrlError, parseS3Url } from '../../src/storage/blobs/s3/url.js';
import { DataDirError } from '../../src/storage/data-dir.js';
import { openBlobStore } from '../../src/storage/blobs/index.js';

test('s3 URLs: bucket only, a prefix (trailing slash or not) always ends in one slash', () => {
  assert.deepEqual(parseS3Url('s3://archive-bytes'), { bucket: 'archive-bytes', prefix: '' });
  assert.deepEqual(parseS3Url('s3://archive-bytes/'), { bucket: 'archive-bytes', prefix: '' });
  assert.deepEqual(parseS3Url('s3://archive-bytes/firn'), { bucket: 'archive-bytes', prefix: 'firn/' });
  assert.deepEqual(parseS3Url('s3://archive-bytes/firn/prod/'), { bucket: 'archive-bytes', prefix: 'firn/prod/' });
  assert.deepEqual(parseS3Url('s3://my.dotted.bucket/a'), { bucket: 'my.dotted.bucket', prefix: 'a/' });
});

test('s3 URLs: a wrong scheme, no bucket, or odd segments are refused with a message naming FIRN_BLOB_URL', () => {
  for (const bad of ['http://bucket/prefix', 'S3://bucket', 's3:/bucket', 's3://', 's3:///prefix', 's3://ab', 's3://bucket/a//b', 's3://bucket/../x', 's3://bucket/p?x=1']) {
    assert.throws(
      () => parseS3Url(bad),
      (e: Error) => e instanceof BlobUrlError && e instanceof DataDirError && /^FIRN_BLOB_URL /.test(e.message),
      bad,
    );
  }
});

test('openBlobStore: fs without FIRN_BLOB_URL; S3 with it, path-style by default only with an endpoint', async () => {
  assert.equal(openBlobStore({ dataDir: '/tmp/x' }).kind, 'fs');
  const withEndpoint = openBlobStore({ dataDir: '/tmp/x', blobUrl: 's3://b-1/p', s3Endpoint: 'http://127.0.0.1:9', s3ForcePathStyle: null });
  const aws = openBlobStore({ dataDir: '/tmp/x', blobUrl: 's3://b-1/p', s3ForcePathStyle: null });
  try {
    assert.equal(withEndpoint.kind, 's3');
    assert.equal(await (withEndpoint as unknown as { client: { config: { forcePathStyle?: boolean } } }).client.config.forcePathStyle, true);
    assert.equal(await (aws as unknown as { client: { config: { forcePathStyle?: boolean } } }).client.config.forcePathStyle, false);
  } finally {
    await withEndpoint.close();
    await aws.close();
  }
});
