import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';

const root = new URL('../../', import.meta.url).pathname;
/** Whether this file started the server: its buckets then go with it (and must not be emptied after it stopped). */
let ownServer = false;

export interface TestS3 {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

const ENV = {
  endpoint: 'FIRN_TEST_S3_ENDPOINT',
  accessKeyId: 'FIRN_TEST_S3_ACCESS_KEY_ID',
  secretAccessKey: 'FIRN_TEST_S3_SECRET_ACCESS_KEY',
  region: 'FIRN_TEST_S3_REGION',
} as const;

/**
 * An S3 server for this test file: the one FIRN_TEST_S3_ENDPOINT (with FIRN_TEST_S3_ACCESS_KEY_ID,
 * FIRN_TEST_S3_SECRET_ACCESS_KEY, optional FIRN_TEST_S3_REGION) names, or a radosgw that
 * `scripts/radosgw.sh start` runs for the file (about 15 s; stopped after its tests). Sets the
 * FIRN_TEST_S3_* variables and returns them.
 */
export function useTestS3(): TestS3 {
  if (!process.env[ENV.endpoint]) {
    const dir = mkdtempSync(join(tmpdir(), 'firn-rgw-'));
    const state = join(dir, 'state');
    const out = execFileSync(join(root, 'scripts/radosgw.sh'), ['start', state], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const vars = Object.fromEntries(out.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    process.env[ENV.endpoint] = vars.FIRN_S3_ENDPOINT;
    process.env[ENV.accessKeyId] = vars.FIRN_S3_ACCESS_KEY_ID;
    process.env[ENV.secretAccessKey] = vars.FIRN_S3_SECRET_ACCESS_KEY;
    process.env[ENV.region] = vars.FIRN_S3_REGION;
    ownServer = true;
    after(() => {
      execFileSync(join(root, 'scripts/radosgw.sh'), ['stop', state], { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    });
  }
  const env = (k: keyof typeof ENV) => process.env[ENV[k]] ?? '';
  return { endpoint: env('endpoint'), accessKeyId: env('accessKeyId'), secretAccessKey: env('secretAccessKey'), region: env('region') || 'us-east-1' };
}

/** An SDK client for the test server (the same checksum settings as the store: STACK.md §4). */
export function testS3Client(s3: TestS3): S3Client {
  return new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/**
 * A new, uniquely named bucket (emptied and deleted after the file's tests on a server the file
 * did not start), as the FIRN_BLOB_URL
 * `s3://bucket/prefix` (`prefix` '' for the bucket's root).
 */
export async function freshBucket(s3: TestS3, prefix = 'firn'): Promise<string> {
  const bucket = `firn-test-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  const client = testS3Client(s3);
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  if (ownServer) {
    client.destroy();
    return `s3://${bucket}${prefix ? '/' + prefix : ''}`;
  }
  after(async () => {
    await emptyPrefix(client, bucket, '');
    await client.send(new DeleteBucketCommand({ Bucket: bucket }));
    client.destroy();
  });
  return `s3://${bucket}${prefix ? '/' + prefix : ''}`;
}

/** Deletes every object and aborts every multipart upload whose key starts with `prefix`. */
export async function emptyPrefix(client: S3Client, bucket: string, prefix: string): Promise<void> {
  for (;;) {
    const r = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    for (const o of r.Contents ?? []) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.Key! }));
    if (!r.IsTruncated) break;
  }
  for (;;) {
    const r = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
    for (const u of r.Uploads ?? []) await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key!, UploadId: u.UploadId! }));
    if (!r.IsTruncated) break;
  }
}

/** The storage settings for a server on `blobUrl` (from freshBucket). */
export function s3BlobConfig(s3: TestS3, blobUrl: string) {
  return {
    blobUrl,
    s3Endpoint: s3.endpoint,
    s3Region: s3.region,
    s3AccessKeyId: s3.accessKeyId,
    s3SecretAccessKey: s3.secretAccessKey,
    s3ForcePathStyle: true,
  };
}
