import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { startTestServer, stallPastLease, type TestServer } from '../helpers/server.js';
import { RawGlacier } from '../helpers/glacier-raw.js';
import { freshBucket, s3BlobConfig, testS3Client, useTestS3 } from '../helpers/s3.js';
import { parseS3Url } from '../../src/storage/blobs/s3/url.js';
import { treeHash, MiB } from '../../src/domain/treehash.js';

// A whole server on FIRN_BLOB_URL=s3://… (radosgw): archive bytes and parts go to the bucket,
// a multipart archive is read back across part boundaries, nothing lands in the data directory.
const s3 = useTestS3();
const blobUrl = await freshBucket(s3, 'e2e');
let s: TestServer;

before(async () => {
  s = await startTestServer({ ownServer: true, config: { ...s3BlobConfig(s3, blobUrl), retrievalTiming: 'instant' } });
});
after(async () => {
  await s.close();
});

async function retrieve(g: RawGlacier, archiveId: string, range?: string): Promise<Buffer> {
  const r = await g.initiateJob({ Type: 'archive-retrieval', ArchiveId: archiveId });
  assert.equal(r.status, 202, r.body.toString());
  const jobId = String(r.headers['x-amz-job-id']);
  await s.runDueJobs();
  const out = await g.getJobOutput(jobId, range);
  assert.equal(out.status, range ? 206 : 200, out.body.toString());
  return out.body;
}

test('UploadArchive and a multipart upload (1 MiB parts, out of order) are stored in the bucket and read back, ranges across parts too', async () => {
  assert.equal(s.running.app.blobs.kind, 's3');
  const g = new RawGlacier(s.url, 's3vault');
  assert.equal((await g.createVault()).status, 201);

  const single = randomBytes(3 * MiB + 17);
  const up = await g.uploadArchive(single, 'single');
  assert.equal(up.status, 201, up.body.toString());
  assert.ok((await retrieve(g, String(up.headers['x-amz-archive-id']))).equals(single));

  const whole = randomBytes(3 * MiB + 5);
  const init = await g.initiateMultipart(MiB, 'parts');
  assert.equal(init.status, 201, init.body.toString());
  const uploadId = String(init.headers['x-amz-multipart-upload-id']);
  for (const start of [2 * MiB, 0, 3 * MiB, MiB]) {
    const r = await g.uploadPart(uploadId, start, whole.subarray(start, Math.min(start + MiB, whole.length)));
    assert.equal(r.status, 204, r.body.toString());
  }
  const done = await g.completeMultipart(uploadId, whole.length, treeHash(whole));
  assert.equal(done.status, 201, done.body.toString());
  const archiveId = String(done.headers['x-amz-archive-id']);
  assert.ok((await retrieve(g, archiveId)).equals(whole));
  assert.ok((await retrieve(g, archiveId, `bytes=${MiB - 3}-${2 * MiB + 2}`)).equals(whole.subarray(MiB - 3, 2 * MiB + 3)));

  // Objects: one per part, one for the single upload, one manifest; none in the data directory.
  const { bucket, prefix } = parseS3Url(blobUrl);
  const client = testS3Client(s3);
  try {
    const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    const names = (listed.Contents ?? []).map((o) => o.Key!.slice(prefix.length));
    assert.equal(names.filter((n) => n.startsWith('m')).length, 1, names.join(' '));
    assert.ok(names.filter((n) => n.startsWith('b')).length >= 5, names.join(' '));
  } finally {
    client.destroy();
  }
  const fsData = join(s.dataDir, 'blobs', 'data');
  assert.ok(!existsSync(fsData) || readdirSync(fsData).length === 0, 'no blob files in the data directory');
});

test('a streamed PutObject whose pending blob is reaped while its bytes are on their way (a stalled node) → 503; the object that lands afterwards is deleted', async () => {
  const g = new RawGlacier(s.url, 's3lease');
  assert.equal((await g.createVault()).status, 201);
  const app = s.running.app;
  const blobs = app.blobs;
  const create = blobs.create.bind(blobs);
  let key: string | null = null;
  blobs.create = async (k, opts) => {
    blobs.create = create;
    key = k;
    const w = await create(k, opts);
    // This process stalls past its lease before sending a byte: another node's sweep (here this
    // one's) reaps the pending blob, deleting the object that does not exist yet.
    await stallPastLease(s);
    return w;
  };
  // Larger than one leaf: a writer of announced size, i.e. one streamed PutObject.
  const r = await g.uploadArchive(randomBytes(3 * MiB + 1), 'late');
  assert.equal(r.status, 503, r.body.toString());
  assert.equal(r.json().code, 'ServiceUnavailableException');
  assert.ok(key, 'the upload did not go through BlobStore.create');
  // The PutObject completed after the reap; the failed commit handed what it stored to the
  // collector (which a kick runs soon; here at once).
  await app.blobMaintenance.collect();
  assert.equal(await blobs.size(key), null);
  const { bucket, prefix } = parseS3Url(blobUrl);
  const client = testS3Client(s3);
  try {
    const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}${key}` }));
    assert.deepEqual((listed.Contents ?? []).map((o) => o.Key), []);
  } finally {
    client.destroy();
  }
  assert.equal((await g.req('GET', '')).json().NumberOfArchives, 0);
  assert.equal((await g.uploadArchive(randomBytes(3 * MiB + 1), 'retry')).status, 201);
});
