import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, signedRequest, TEST_ACCOUNT, type TestServer } from '../helpers/server.js';
import { RawGlacier, seededBytes, sha256Hex } from '../helpers/glacier-raw.js';
import { MiB, treeHash } from '../../src/domain/treehash.js';
import { storeRow } from '../helpers/store-sql.js';

const H = 3_600_000;

async function initiate(g: RawGlacier, params: Record<string, unknown>): Promise<string> {
  const r = await g.initiateJob(params);
  assert.equal(r.status, 202, r.body.toString());
  return String(r.headers['x-amz-job-id']);
}

async function upload(g: RawGlacier, desc: string, bytes: Buffer): Promise<string> {
  const r = await g.uploadArchive(bytes, desc);
  assert.equal(r.status, 201, r.body.toString());
  return String(r.headers['x-amz-archive-id']);
}

async function advance(s: TestServer, ms: number): Promise<void> {
  s.clock.advance(ms);
  await s.running.app.jobs.runDue();
}

test('jobs survive a restart: queued jobs complete afterwards, completed outputs stay downloadable', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'firn-jobs-restart-'));
  try {
    let s = await startTestServer({ dataDir, config: { retrievalTiming: 'aws' } });
    let g = new RawGlacier(s.url, 'restart');
    await g.createVault();
    const bytes = seededBytes('restart', 2 * MiB + 3);
    const archiveId = await upload(g, 'r', bytes);
    const done = await initiate(g, { Type: 'archive-retrieval', ArchiveId: archiveId, Tier: 'Expedited' });
    await advance(s, 5 * 60_000);
    const pending = [
      await initiate(g, { Type: 'archive-retrieval', ArchiveId: archiveId, Tier: 'Bulk', RetrievalByteRange: `${MiB}-${2 * MiB - 1}` }),
      await initiate(g, { Type: 'inventory-retrieval', Format: 'CSV' }),
    ];
    await s.stop();

    // A new process: the clock offset is gone (domain time is back to real time).
    s = await startTestServer({ dataDir, config: { retrievalTiming: 'aws' } });
    g = new RawGlacier(s.url, 'restart');
    try {
      const list = (await g.req('GET', '/jobs')).json().JobList;
      assert.deepEqual(
        list.map((j: any) => [j.JobId, j.StatusCode]),
        [
          [done, 'Succeeded'],
          [pending[0], 'InProgress'],
          [pending[1], 'InProgress'],
        ],
      );
      const out = await g.getJobOutput(done);
      assert.equal(out.status, 200);
      assert.equal(sha256Hex(out.body), sha256Hex(bytes));
      await advance(s, 13 * H);
      const d = (await g.describeJob(pending[0]!)).json();
      assert.equal(d.StatusCode, 'Succeeded');
      assert.equal(d.SHA256TreeHash, treeHash(bytes.subarray(MiB, 2 * MiB)));
      const part = await g.getJobOutput(pending[0]!);
      assert.ok(part.body.equals(bytes.subarray(MiB, 2 * MiB)));
      const inv = await g.getJobOutput(pending[1]!);
      assert.equal(inv.status, 200);
      assert.match(inv.body.toString(), new RegExp(`^ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash\\n${archiveId},"r",`));
    } finally {
      await s.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a job that fails unexpectedly is retried with backoff, and ends Failed after FIRN_JOB_MAX_ATTEMPTS', async () => {
  const s = await startTestServer({ config: { jobMaxAttempts: 3 } });
  try {
    const g = new RawGlacier(s.url, 'retry');
    await g.createVault();
    // The inventory output blob cannot be written.
    const blobs = s.running.app.blobs;
    const create = blobs.create.bind(blobs);
    let failures = 0;
    const failing = async () => {
      failures++;
      throw new Error('disk full');
    };
    blobs.create = failing;
    const queue = (id: string) =>
      storeRow<{ attempts: number; last_error: string; due_at: number }>(
        s,
        'SELECT q.attempts, q.last_error, q.due_at FROM job_queue q JOIN jobs j ON j.seq = q.job_seq WHERE j.job_id = ?',
        [id],
      );

    // First job: fails once, then succeeds once the disk is back.
    const a = await initiate(g, { Type: 'inventory-retrieval' });
    await s.running.app.jobs.runDue();
    assert.equal(failures, 1);
    assert.equal((await g.describeJob(a)).json().StatusCode, 'InProgress');
    assert.deepEqual({ ...(await queue(a))!, due_at: undefined }, { attempts: 1, last_error: 'disk full', due_at: undefined });
    assert.ok((await queue(a))!.due_at > s.clock.now(), 'the retry waits for its backoff');
    blobs.create = create;
    await advance(s, 1000);
    assert.equal((await g.describeJob(a)).json().StatusCode, 'Succeeded');
    assert.equal(await queue(a), undefined, 'the queue entry is gone with completion');

    // Second job: keeps failing; after 3 attempts it ends Failed.
    blobs.create = failing;
    const b = await initiate(g, { Type: 'inventory-retrieval' });
    await s.running.app.jobs.runDue();
    for (let i = 0; i < 3; i++) await advance(s, 60_000);
    const d = (await g.describeJob(b)).json();
    assert.equal(d.StatusCode, 'Failed');
    assert.equal(d.Completed, true);
    assert.equal(d.StatusMessage, 'The job failed because of an internal error.');
    assert.equal(failures, 4);
    blobs.create = create;
    // Every failed attempt's pending output blob was discarded (and collected), none is left pending.
    const pendingRows = await storeRow<{ n: number }>(s, 'SELECT COUNT(*) AS n FROM pending_blobs');
    assert.equal(pendingRows!.n, 0);
  } finally {
    await s.close();
  }
});

test('test-control API (FIRN_TEST_CONTROL): advance the clock, complete one job now', async () => {
  const s = await startTestServer({ config: { testControl: true, retrievalTiming: 'aws' } });
  try {
    const g = new RawGlacier(s.url, 'control');
    await g.createVault();
    const archiveId = await upload(g, 'c', Buffer.from('control'));
    const a = await initiate(g, { Type: 'archive-retrieval', ArchiveId: archiveId, Tier: 'Bulk' });
    const b = await initiate(g, { Type: 'archive-retrieval', ArchiveId: archiveId, Tier: 'Expedited' });
    let r = await signedRequest(s.url, { method: 'POST', path: `/_firn/test/jobs/${a}/complete` });
    assert.equal(r.status, 200, r.body.toString());
    assert.equal(r.json().StatusCode, 'Succeeded');
    assert.equal(r.json().JobId, a);
    assert.equal((await g.describeJob(b)).json().StatusCode, 'InProgress');
    r = await signedRequest(s.url, { method: 'POST', path: '/_firn/test/jobs/nope/complete' });
    assert.equal(r.status, 404);

    const before = s.clock.now();
    r = await signedRequest(s.url, { method: 'POST', path: '/_firn/test/clock/advance', body: JSON.stringify({ seconds: 300 }) });
    assert.equal(r.status, 200, r.body.toString());
    assert.ok(r.json().offsetMs >= 300_000);
    assert.ok(s.clock.now() - before >= 300_000);
    // The answer means "done": due jobs have run.
    assert.equal((await g.describeJob(b)).json().StatusCode, 'Succeeded');
    r = await signedRequest(s.url, { method: 'POST', path: '/_firn/test/clock/advance', body: JSON.stringify({ seconds: -1 }) });
    assert.equal(r.status, 400);
    r = await signedRequest(s.url, { method: 'GET', path: '/_firn/test/clock' });
    assert.equal(r.status, 200);
    assert.match(r.json().now, /Z$/);
  } finally {
    await s.close();
  }
});

test('FIRN_INVENTORY=daily: snapshots on the cadence, counts and LastInventoryDate as of the snapshot, DeleteVault rules', async () => {
  const s = await startTestServer({ config: { inventoryMode: 'daily', inventoryCadence: H } });
  try {
    const g = new RawGlacier(s.url, 'daily');
    await g.createVault();
    const describeVault = async () => (await g.req('GET', '')).json();
    const inventory = async () => {
      const id = await initiate(g, { Type: 'inventory-retrieval' });
      await s.running.app.jobs.runDue();
      const r = await g.getJobOutput(id);
      assert.equal(r.status, 200, r.body.toString());
      return JSON.parse(r.body.toString());
    };
    // A vault never written to can be deleted at once.
    const empty = new RawGlacier(s.url, 'daily-empty');
    await empty.createVault();
    assert.equal((await empty.req('DELETE', '')).status, 204);

    // The first snapshot counts from the first upload, not from the vault's creation.
    await advance(s, 3 * H);
    const a = await upload(g, 'a', Buffer.alloc(100, 1));
    const b = await upload(g, 'b', Buffer.alloc(200, 2));
    let v = await describeVault();
    assert.deepEqual([v.NumberOfArchives, v.SizeInBytes, v.LastInventoryDate], [0, 0, null]);
    assert.deepEqual((await inventory()).ArchiveList, [], 'no snapshot yet: an empty inventory');
    await advance(s, H - 60_000);
    assert.equal((await describeVault()).LastInventoryDate, null, 'a day (here: an hour) after the first upload, not before');

    await advance(s, 60_000);
    v = await describeVault();
    assert.equal(v.NumberOfArchives, 2);
    assert.equal(v.SizeInBytes, 300 + 2 * 32768);
    assert.match(v.LastInventoryDate, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const firstDate = v.LastInventoryDate;
    let inv = await inventory();
    assert.deepEqual(inv.ArchiveList.map((x: any) => x.ArchiveId), [a, b]);
    assert.equal(inv.InventoryDate, firstDate.replace(/\.\d{3}Z$/, 'Z'));

    // Written since the snapshot (within the cadence): counts and inventory still show the snapshot.
    const c = await upload(g, 'c', Buffer.alloc(5, 3));
    for (const id of [a, b, c]) assert.equal((await g.req('DELETE', `/archives/${id}`)).status, 204);
    v = await describeVault();
    assert.equal(v.NumberOfArchives, 2);
    inv = await inventory();
    assert.deepEqual(inv.ArchiveList.map((x: any) => x.ArchiveId), [a, b], 'the snapshot, not the live vault: deleted archives listed, the new one not');
    const refused = await g.req('DELETE', '');
    assert.equal(refused.status, 400);
    assert.deepEqual(refused.json(), {
      code: 'InvalidParameterValueException',
      message: `Vault not empty or recently written to: arn:aws:glacier:us-east-1:${TEST_ACCOUNT}:vaults/daily`,
      type: 'Client',
    });

    await advance(s, H);
    v = await describeVault();
    assert.deepEqual([v.NumberOfArchives, v.SizeInBytes], [0, 0]);
    assert.ok(Date.parse(v.LastInventoryDate) > Date.parse(firstDate));
    assert.deepEqual((await inventory()).ArchiveList, []);
    // Nothing changed since: the next cadence does not re-date the inventory.
    await advance(s, H);
    assert.equal((await describeVault()).LastInventoryDate, v.LastInventoryDate);
    assert.equal((await g.req('DELETE', '')).status, 204);
  } finally {
    await s.close();
  }
});

test('blob references: an output pins the archive bytes for its window, then they are collected; a delete racing completion fails the job', async () => {
  const s = await startTestServer();
  try {
    const g = new RawGlacier(s.url, 'refs');
    await g.createVault();
    const app = s.running.app;
    const bytes = seededBytes('refs', MiB + 1);
    const archiveId = await upload(g, 'refs', bytes);
    const jobId = await initiate(g, { Type: 'archive-retrieval', ArchiveId: archiveId });
    await app.jobs.runDue();
    const job = (await app.store.jobs.getByJobId(jobId))!;
    assert.equal(job.status, 'Succeeded');
    assert.equal(job.blobRetained, true);
    const key = job.blobKey!;
    const refs = async () => (await storeRow<{ refs: number }>(s, 'SELECT refs FROM blobs WHERE blob_key = ?', [key]))?.refs ?? 0;
    assert.equal(await refs(), 2, 'the archive and the job output each hold one');
    assert.equal((await g.req('DELETE', `/archives/${archiveId}`)).status, 204);
    await app.blobMaintenance.collect();
    assert.equal(await refs(), 1);
    assert.equal(await app.blobs.size(key), bytes.length, 'bytes kept while the output is downloadable');
    assert.ok((await g.getJobOutput(jobId)).body.equals(bytes));
    await advance(s, 24 * H + 1);
    await app.blobMaintenance.collect();
    assert.equal(await refs(), 0);
    assert.equal(await app.blobs.size(key), null, 'collected once the window has ended');

    // DeleteArchive lands after the task looked the archive up but before completion.
    const b = await upload(g, 'race', Buffer.from('race'));
    const archives = app.store.archives;
    const getLeaves = archives.getLeaves.bind(archives);
    archives.getLeaves = async (id: string) => {
      const leaves = await getLeaves(id);
      assert.equal((await g.req('DELETE', `/archives/${b}`)).status, 204);
      return leaves;
    };
    let raceJob: string;
    try {
      // Instant timing: InitiateJob wakes the engine, which runs the job at once.
      raceJob = await initiate(g, { Type: 'archive-retrieval', ArchiveId: b });
      await app.jobs.runDue();
    } finally {
      archives.getLeaves = getLeaves;
    }
    const d = (await g.describeJob(raceJob)).json();
    assert.equal(d.StatusCode, 'Failed');
    assert.match(d.StatusMessage, /deleted/);
    assert.equal((await app.store.jobs.getByJobId(raceJob))!.blobRetained, false);
  } finally {
    await s.close();
  }
});

test("a 'jobs' signal of the store wakes the engine: a job made due by another writer runs without a local kick or a poll", async () => {
  // Polls an hour apart: only the signal can wake the engine within the test.
  const s = await startTestServer({ ownServer: true, config: { retrievalTiming: 'aws', jobPollInterval: H } });
  try {
    const g = new RawGlacier(s.url, 'signal');
    await g.createVault();
    const archiveId = await upload(g, 'sig', Buffer.from('signalled'));
    const jobId = await initiate(g, { Type: 'archive-retrieval', ArchiveId: archiveId, Tier: 'Bulk' });
    await s.running.app.jobs.runDue();
    assert.equal((await g.describeJob(jobId)).json().StatusCode, 'InProgress');
    const job = (await s.running.app.store.jobs.getByJobId(jobId))!;
    // What another process sharing the store would do; the store signals 'jobs' after the commit.
    assert.equal(await s.running.app.store.jobs.makeDue(job.seq, s.clock.now()), true);
    const deadline = Date.now() + 10_000;
    while ((await g.describeJob(jobId)).json().StatusCode === 'InProgress') {
      assert.ok(Date.now() < deadline, 'the engine did not wake on the signal');
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal((await g.describeJob(jobId)).json().StatusCode, 'Succeeded');
  } finally {
    await s.close();
  }
});

test('a claim the engine could neither complete nor put back (the store failed) is released at its next pass, not held by the heartbeat for ever', async () => {
  const s = await startTestServer({ ownServer: true });
  try {
    const app = s.running.app;
    const g = new RawGlacier(s.url, 'stuck');
    await g.createVault();
    const jobs = app.store.jobs;
    const complete = jobs.complete.bind(jobs);
    const retry = jobs.retry.bind(jobs);
    jobs.complete = async () => {
      throw new Error('database is locked');
    };
    jobs.retry = async () => {
      throw new Error('database is locked');
    };
    let id: string;
    try {
      id = await initiate(g, { Type: 'inventory-retrieval' });
      // The attempt fails to settle; a later pass may also fail to release the claim (and says so).
      await app.jobs.runDue().catch((e: Error) => assert.match(e.message, /database is locked/));
    } finally {
      jobs.complete = complete;
      jobs.retry = retry;
    }
    const q = await storeRow<{ claimed_by: string | null }>(s, 'SELECT q.claimed_by FROM job_queue q JOIN jobs j ON j.seq = q.job_seq WHERE j.job_id = ?', [id]);
    assert.equal(q!.claimed_by, app.leases.owner, 'still claimed by this live process');
    assert.equal((await g.describeJob(id)).json().StatusCode, 'InProgress');
    await app.leases.renew();
    await app.jobs.runDue();
    assert.equal((await g.describeJob(id)).json().StatusCode, 'Succeeded');
    assert.equal((await g.getJobOutput(id)).status, 200);
    await app.blobMaintenance.collect();
    assert.equal((await storeRow<{ n: number }>(s, 'SELECT COUNT(*) AS n FROM pending_blobs'))!.n, 0, 'the first attempt discarded its output');
  } finally {
    await s.close();
  }
});
