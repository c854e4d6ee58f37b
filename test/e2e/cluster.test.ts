/**
 * A cluster: PostgreSQL + radosgw (S3) + three stateless Firn processes, requests sent round robin.
 * Uploads and multipart parts land on any node, a job initiated on one is completed by another's
 * worker and downloaded through the third, notifications go out once per destination, and kill -9
 * of a node mid-upload and mid-job loses no acknowledged archive and no accepted job.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { ChildServer, freePort } from '../helpers/child-server.js';
import { startWebhookReceiver, until, type Received } from '../helpers/webhook.js';
import { RawGlacier, seededBytes, sha256Hex } from '../helpers/glacier-raw.js';
import { signedRequest } from '../helpers/server.js';
import { useTestPostgres } from '../helpers/postgres.js';
import { dropSchema, freshSchemaUrl } from '../helpers/metadata.js';
import { freshBucket, useTestS3 } from '../helpers/s3.js';
import { leftoverBlobFiles } from '../helpers/crash-verify.js';
import { MiB, treeHash } from '../../src/domain/treehash.js';

useTestPostgres();
const s3 = useTestS3();

const VAULT = 'cluster';
const SECRET = 'cluster-webhook-secret';
const JOB_TOPIC = 'arn:aws:sns:us-east-1:111122223333:cluster-job';
const VAULT_TOPIC = 'arn:aws:sns:us-east-1:111122223333:cluster-vault';


async function control(node: ChildServer, path: string, body?: unknown): Promise<any> {
  const r = await signedRequest(node.url, { method: 'POST', path, ...(body ? { body: JSON.stringify(body) } : {}) });
  assert.equal(r.status, 200, `${path} on ${node.url}: ${r.status} ${r.body.toString()}`);
  return r.json();
}

interface Acked {
  desc: string;
  archiveId: string;
  bytes: Buffer;
}

/** Uploads `bytes` as one archive in parts of `partSize`, each part through the next node of `pick`. */
async function multipart(pick: () => RawGlacier, bytes: Buffer, partSize: number, desc: string): Promise<string> {
  const init = await pick().initiateMultipart(partSize, desc);
  assert.equal(init.status, 201, init.body.toString());
  const uploadId = String(init.headers['x-amz-multipart-upload-id']);
  for (let start = 0; start < bytes.length; start += partSize) {
    const r = await pick().uploadPart(uploadId, start, bytes.subarray(start, start + partSize));
    assert.equal(r.status, 204, `part at ${start}: ${r.status} ${r.body.toString()}`);
  }
  const done = await pick().completeMultipart(uploadId, bytes.length, treeHash(bytes));
  assert.equal(done.status, 201, done.body.toString());
  return String(done.headers['x-amz-archive-id']);
}

test('cluster: three nodes on PostgreSQL + S3, round robin; kill -9 mid-upload and mid-job loses nothing', { timeout: 300_000 }, async (t) => {
  const metadataUrl = await freshSchemaUrl();
  const blobUrl = await freshBucket(s3);
  const hookPort = await freePort();
  const got: Received[] = [];
  const bad: string[] = [];
  const receiver = await startWebhookReceiver(hookPort, SECRET, got, bad);
  const dirs = [0, 1, 2].map(() => mkdtempSync(join(tmpdir(), 'firn-cluster-')));
  // The one thing the nodes share besides PostgreSQL and the bucket: the master key (a file the
  // operator copies to every node; here the first start creates it, atomically).
  const keyDir = mkdtempSync(join(tmpdir(), 'firn-cluster-key-'));
  dirs.push(keyDir);
  const env = {
    FIRN_S3_ENDPOINT: s3.endpoint,
    FIRN_S3_REGION: s3.region,
    FIRN_S3_ACCESS_KEY_ID: s3.accessKeyId,
    FIRN_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    FIRN_METADATA_URL: metadataUrl,
    FIRN_BLOB_URL: blobUrl,
    FIRN_MASTER_KEY_FILE: join(keyDir, 'master.key'),
    FIRN_TEST_CONTROL: 'true',
    // Standard retrievals wait 3–5 h: a job runs on the node whose domain clock is moved past that.
    FIRN_RETRIEVAL_TIMING: 'aws',
    FIRN_NOTIFY_SINKS: JSON.stringify([{ topic: 'arn:aws:sns:*', sink: 'webhook', url: `http://127.0.0.1:${hookPort}/hook`, secret: SECRET }]),
    FIRN_NOTIFY_POLL_INTERVAL: '100ms',
  };
  const nodes = dirs.slice(0, 3).map((dataDir) => new ChildServer({ dataDir, env }));
  const db = new pg.Client({ connectionString: metadataUrl });
  const live = new Set(nodes);
  let rr = 0;
  /** The next live node, round robin. */
  const next = () => {
    const alive = nodes.filter((n) => live.has(n));
    return new RawGlacier(alive[rr++ % alive.length]!.url, VAULT);
  };
  const on = (i: number) => new RawGlacier(nodes[i]!.url, VAULT);
  const claimOf = async (jobId: string) =>
    (await db.query<{ claimed_by: string | null }>('SELECT q.claimed_by FROM job_queue q JOIN jobs j ON j.seq = q.job_seq WHERE j.job_id = $1', [jobId])).rows[0]?.claimed_by ?? null;
  const jobs: { jobId: string; bytes: Buffer }[] = [];
  try {
    await Promise.all(nodes.map((n) => n.start()));
    await db.connect();

    // 1. Set-up and uploads spread over the nodes.
    assert.equal((await on(0).createVault()).status, 201);
    const nc = await on(1).req('PUT', '/notification-configuration', {
      body: JSON.stringify({ SNSTopic: VAULT_TOPIC, Events: ['ArchiveRetrievalCompleted'] }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(nc.status, 204, nc.body.toString());
    const small = seededBytes('cluster-small', 3 * MiB + 5);
    const up = await on(0).uploadArchive(small, 'small');
    assert.equal(up.status, 201, up.body.toString());
    const smallId = String(up.headers['x-amz-archive-id']);
    const spread = seededBytes('cluster-spread', 6 * MiB + 123);
    const spreadId = await multipart(next, spread, MiB, 'spread'); // 7 parts, round robin over three nodes
    assert.equal((await on(2).req('GET', '')).json().NumberOfArchives, 2);

    // 2. A job initiated on node 0, completed by node 1's worker (only its clock is past the tier
    // delay), downloaded through node 2; the job topic and the vault topic each get one message.
    const j1 = await on(0).initiateJob({ Type: 'archive-retrieval', ArchiveId: spreadId, SNSTopic: JOB_TOPIC });
    assert.equal(j1.status, 202, j1.body.toString());
    const job1 = String(j1.headers['x-amz-job-id']);
    jobs.push({ jobId: job1, bytes: spread });
    assert.equal((await on(2).describeJob(job1)).json().StatusCode, 'InProgress');
    await control(nodes[1]!, '/_firn/test/clock/advance', { seconds: 6 * 3600 });
    assert.equal((await on(2).waitJob(job1)).StatusCode, 'Succeeded');
    const out1 = await on(2).getJobOutput(job1);
    assert.equal(out1.status, 200);
    assert.equal(sha256Hex(out1.body), sha256Hex(spread));
    await until('two notifications for the first job', () => got.filter((g) => g.message.JobId === job1).length >= 2);
    assert.deepEqual(got.filter((g) => g.message.JobId === job1).map((g) => g.topicArn).sort(), [JOB_TOPIC, VAULT_TOPIC].sort());

    // 3. kill -9 of node 2 while four clients upload round robin (single and multipart).
    const acked: Acked[] = [{ desc: 'small', archiveId: smallId, bytes: small }, { desc: 'spread', archiveId: spreadId, bytes: spread }];
    let stop = false;
    let n = 0;
    let failedOnKilled = 0;
    const worker = async (w: number) => {
      while (!stop) {
        const desc = `w${w}-${n++}`;
        const bytes = seededBytes(desc, 1 + Math.floor(Math.random() * 3 * MiB));
        try {
          if (Math.random() < 0.5) {
            const r = await next().uploadArchive(bytes, desc);
            if (r.status === 201) acked.push({ desc, archiveId: String(r.headers['x-amz-archive-id']), bytes });
            else failedOnKilled++;
          } else {
            acked.push({ desc, archiveId: await multipart(next, bytes, MiB, desc), bytes });
          }
        } catch {
          failedOnKilled++; // a request cut by the kill: unacknowledged, the client would retry
        }
      }
    };
    const workers = [0, 1, 2, 3].map(worker);
    await new Promise((r) => setTimeout(r, 300 + Math.random() * 700));
    live.delete(nodes[2]!);
    await nodes[2]!.kill();
    const before = acked.length;
    await until('uploads to go on through the survivors', () => acked.length >= before + 8);
    stop = true;
    await Promise.all(workers);
    t.diagnostic(`${acked.length} archives acknowledged; ${failedOnKilled} uploads cut by the kill`);

    // 4. kill -9 of node 1 while it runs a job: node 0 takes it over once node 1's lease lapsed.
    const big = seededBytes('cluster-big', 96 * MiB);
    const bigId = await multipart(next, big, 16 * MiB, 'big');
    acked.push({ desc: 'big', archiveId: bigId, bytes: big });
    const jb = await on(0).initiateJob({ Type: 'archive-retrieval', ArchiveId: bigId });
    assert.equal(jb.status, 202, jb.body.toString());
    const bigJob = String(jb.headers['x-amz-job-id']);
    jobs.push({ jobId: bigJob, bytes: big });
    let answered = false;
    const advancing = control(nodes[1]!, '/_firn/test/clock/advance', { seconds: 6 * 3600 }).then(
      () => (answered = true),
      () => {},
    );
    let owner: string | null = null;
    const deadline = Date.now() + 60_000;
    while (!(owner = await claimOf(bigJob)) && !answered) if (Date.now() > deadline) assert.fail('node 1 never claimed the job');
    live.delete(nodes[1]!);
    await nodes[1]!.kill();
    await advancing;
    assert.ok(owner, 'node 1 finished the job before the test saw its claim; nothing was proved');
    assert.equal((await on(0).describeJob(bigJob)).json().StatusCode, 'InProgress');
    // Node 1's clock is 12 h ahead, its lease a minute past that; node 0's is 0 h.
    await control(nodes[0]!, '/_firn/test/clock/advance', { seconds: 13 * 3600 });
    const done = await on(0).waitJob(bigJob);
    assert.equal(done.StatusCode, 'Succeeded', JSON.stringify(done));

    // 5. Every acknowledged archive is intact: retrieved through node 0's worker, read through the others once restarted.
    await Promise.all([nodes[1]!.start(), nodes[2]!.start()]);
    live.add(nodes[1]!).add(nodes[2]!);
    for (const a of acked) {
      if (a.desc === 'big' || a.desc === 'spread') continue;
      const r = await on(0).initiateJob({ Type: 'archive-retrieval', ArchiveId: a.archiveId });
      assert.equal(r.status, 202, `${a.desc}: ${r.body.toString()}`);
      jobs.push({ jobId: String(r.headers['x-amz-job-id']), bytes: a.bytes });
    }
    await control(nodes[0]!, '/_firn/test/clock/advance', { seconds: 6 * 3600 });
    for (const j of jobs) {
      assert.equal((await next().waitJob(j.jobId)).StatusCode, 'Succeeded');
      const out = await next().getJobOutput(j.jobId);
      assert.equal(out.status, 200);
      assert.equal(sha256Hex(out.body), sha256Hex(j.bytes), `job ${j.jobId} output`);
    }
    const listed = await on(1).req('GET', '');
    assert.ok(listed.json().NumberOfArchives >= acked.length, 'every acknowledged archive is counted');

    // Notifications: exactly one per job and destination (the vault topic for every retrieval, the job topic for the first).
    await until('a vault-topic notification for every job', () => jobs.every((j) => got.some((g) => g.message.JobId === j.jobId && g.topicArn === VAULT_TOPIC)));
    const keys = got.map((g) => `${g.topicArn} ${g.message.JobId}`);
    assert.equal(new Set(keys).size, keys.length, 'no notification delivered twice');
    assert.equal(got.length, jobs.length + 1);
    assert.equal(bad.length, 0);

    // 6. Nothing left that garbage collection will not remove: once the dead nodes' leases lapse,
    // a sweep reclaims what they were writing; every object left in the bucket is known.
    for (const node of nodes) await control(node, '/_firn/test/clock/advance', { seconds: 14 * 3600 });
    await control(nodes[2]!, '/_firn/test/blobs/sweep');
    const left = await leftoverBlobFiles({ dataDir: dirs[0]!, metadataUrl, env });
    assert.deepEqual(left.unknownBlobs, [], `${left.unknownBlobs.length} of ${left.blobFiles} objects unknown to the metadata`);
    t.diagnostic(`${left.blobFiles} objects in the bucket, all known to the metadata`);
  } finally {
    await Promise.all(nodes.map((n) => n.kill()));
    await db.end().catch(() => {});
    receiver.closeAllConnections();
    await new Promise((r) => receiver.close(r));
    await dropSchema(metadataUrl);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
});
