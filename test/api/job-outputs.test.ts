import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startTestServer, TEST_ACCOUNT, type TestServer } from '../helpers/server.js';
import { RawGlacier } from '../helpers/glacier-raw.js';
import { migrate, migrationsDir } from '../../src/storage/metadata/sqlite/db.js';
import { storeRow } from '../helpers/store-sql.js';
import { onPostgres } from '../helpers/metadata.js';
import { isLegacyOutputKey } from '../../src/domain/jobs.js';

/**
 * Inventory outputs are blobs of the BlobStore (#12): each attempt writes its own, pending under
 * the process's lease until the completing transaction makes it the job's. Outputs written by the
 * release before (files under <dataDir>/job-outputs) stay downloadable until their jobs expire.
 */

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

const pendingCount = async (s: TestServer) => (await storeRow<{ n: number }>(s, 'SELECT COUNT(*) AS n FROM pending_blobs'))!.n;

test("an attempt whose claim was lost neither deletes nor overwrites the winner's output, and GetJobOutput serves the winner's", async () => {
  const s = await startTestServer({ ownServer: true });
  try {
    const app = s.running.app;
    const g = new RawGlacier(s.url, 'lost-claim');
    await g.createVault();
    await upload(g, 'x', Buffer.from('inventoried'));
    const winnerBytes = Buffer.from('{"the":"winner\'s output"}');
    const realCreate = app.blobs.create.bind(app.blobs);
    let loserKey: string | null = null;
    let winnerKey: string | null = null;
    let winnerCompleted: unknown;
    // While this process's attempt writes its output: the process stalls past its lease (its
    // heartbeat stops, domain time moves past the lease), and another worker claims the entry
    // through the store, writes its own output and completes the job.
    app.blobs.create = async (key: string) => {
      if (loserKey === null) {
        loserKey = key;
        await app.leases.stop();
        s.clock.advance(app.leases.leaseMs + 1);
        const now = s.clock.now();
        const [won, ...more] = await app.store.jobs.claimDue(now, 'winner', app.leases.leaseMs, 8);
        assert.equal(more.length, 0);
        assert.ok(won, 'the lapsed claim is taken by another worker');
        assert.equal(won.attempts, 2);
        winnerKey = app.blobs.newKey('blob');
        await app.store.blobs.begin(winnerKey, 'winner', now + app.leases.leaseMs);
        const w = await realCreate(winnerKey);
        await w.write(winnerBytes);
        await w.commit();
        winnerCompleted = await app.store.jobs.complete(
          { seq: won.job.seq, workerId: 'winner', attempts: won.attempts },
          { status: 'Succeeded', statusMessage: 'Succeeded', completedAt: now, expiresAt: now + 24 * H, outputKey: winnerKey, outputSize: winnerBytes.length, nextMarker: null },
        );
      }
      return realCreate(key);
    };
    let jobId: string;
    try {
      jobId = await initiate(g, { Type: 'inventory-retrieval' });
      await app.jobs.runDue();
    } finally {
      app.blobs.create = realCreate;
      app.leases.start();
    }
    assert.ok(loserKey && winnerKey && loserKey !== winnerKey, 'each attempt wrote its own blob');
    assert.equal((winnerCompleted as { status?: string })?.status, 'Succeeded');
    const job = (await app.store.jobs.getByJobId(jobId))!;
    assert.equal(job.outputKey, winnerKey, "the job holds the winner's output");
    const d = (await g.describeJob(jobId)).json();
    assert.equal(d.StatusCode, 'Succeeded');
    assert.equal(d.InventorySizeInBytes, winnerBytes.length);
    const out = await g.getJobOutput(jobId);
    assert.equal(out.status, 200);
    assert.ok(out.body.equals(winnerBytes), `served the winner's output, got ${out.body.toString()}`);
    // The losing attempt discarded its own output only.
    await app.blobMaintenance.collect();
    assert.equal(await app.blobs.size(loserKey!), null, "the losing attempt's output is collected");
    assert.equal(await app.store.blobs.known(loserKey!), false);
    assert.equal(await app.blobs.size(winnerKey!), winnerBytes.length, "the winner's output is intact");
    assert.equal(await pendingCount(s), 0);
    assert.ok((await g.getJobOutput(jobId)).body.equals(winnerBytes));
  } finally {
    await s.close();
  }
});

test('an inventory output is a blob: it survives a restart, is served from the BlobStore, and is collected when the job expires', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'firn-inv-blob-'));
  let s: TestServer | null = null;
  try {
    s = await startTestServer({ dataDir });
    let g = new RawGlacier(s.url, 'inv-blob');
    await g.createVault();
    const archiveId = await upload(g, 'kept', Buffer.from('bytes'));
    const jobId = await initiate(g, { Type: 'inventory-retrieval', Format: 'CSV' });
    await s.running.app.jobs.runDue();
    const before = await g.getJobOutput(jobId);
    assert.equal(before.status, 200);
    assert.match(before.body.toString(), new RegExp(`\\n${archiveId},"kept",`));
    await s.stop();

    s = await startTestServer({ dataDir });
    g = new RawGlacier(s.url, 'inv-blob');
    const app = s.running.app;
    const job = (await app.store.jobs.getByJobId(jobId))!;
    assert.ok(job.outputKey && !isLegacyOutputKey(job.outputKey), `a blob key: ${job.outputKey}`);
    assert.equal(await app.blobs.size(job.outputKey), before.body.length, 'the bytes are in the BlobStore');
    assert.equal(existsSync(join(dataDir, 'job-outputs')), false, 'nothing is written to the legacy directory');
    const after = await g.getJobOutput(jobId);
    assert.equal(after.status, 200);
    assert.ok(after.body.equals(before.body));
    const ranged = await g.getJobOutput(jobId, 'bytes=3-9');
    assert.equal(ranged.status, 206);
    assert.ok(ranged.body.equals(before.body.subarray(3, 10)));
    // Expired: the job and its reference go; the blob is collected.
    s.clock.advance(24 * H + 1);
    await app.jobs.runDue();
    await app.blobMaintenance.collect();
    assert.equal((await g.getJobOutput(jobId)).status, 404);
    assert.equal(await app.blobs.size(job.outputKey), null);
  } finally {
    await s?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

// PostgreSQL metadata came with #12 (its schema starts at 001_schema.sql): no PostgreSQL store was
// ever written by the release before, so none holds a job whose output is a legacy file.
const sqliteOnly = onPostgres() && 'a pre-#12 data directory is SQLite only: PostgreSQL metadata did not exist before #12';
test('a data dir from the release before #12: its legacy job-outputs file stays downloadable until the job expires', { skip: sqliteOnly }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'firn-legacy-out-'));
  let s: TestServer | null = null;
  try {
    // meta.db as that release left it (migrations up to 007), with a completed inventory job whose
    // output is a file, an orphan output file (its job is gone) and an interrupted temp file.
    const old = join(dataDir, 'migrations-007');
    mkdirSync(old);
    for (const f of readdirSync(migrationsDir()).filter((f) => f < '008')) copyFileSync(join(migrationsDir(), f), join(old, f));
    const now = Date.now();
    const jobId = 'J' + 'legacy'.padEnd(91, '0');
    const legacy = Buffer.from('{"VaultARN":"legacy","InventoryDate":"2026-01-01T00:00:00Z","ArchiveList":[]}');
    const db = new Database(join(dataDir, 'meta.db'));
    migrate(db, old);
    db.prepare("INSERT INTO vaults (id, account_id, region, name, created_at) VALUES (1, ?, 'us-east-1', 'legacy', ?)").run(TEST_ACCOUNT, now - H);
    db.exec("UPDATE id_sequences SET last_id = 1 WHERE name = 'vaults'");
    db.prepare(
      `INSERT INTO jobs (seq, job_id, vault_id, vault_arn, action, inv_format, created_at, status, status_message, completed_at, output_size, output_key, expires_at)
        VALUES (1, ?, 1, ?, 'InventoryRetrieval', 'JSON', ?, 'Succeeded', 'Succeeded', ?, ?, ?, ?)`,
    ).run(jobId, `arn:aws:glacier:us-east-1:${TEST_ACCOUNT}:vaults/legacy`, now - H, now - H, legacy.length, `${jobId}.json`, now + H);
    db.exec("UPDATE id_sequences SET last_id = 1 WHERE name = 'jobs'");
    db.close();
    rmSync(old, { recursive: true });
    const outDir = join(dataDir, 'job-outputs');
    mkdirSync(outDir);
    writeFileSync(join(outDir, `${jobId}.json`), legacy);
    writeFileSync(join(outDir, 'Jgone.csv'), 'orphan');
    writeFileSync(join(outDir, `${jobId}.json.123.tmp`), 'interrupted');

    s = await startTestServer({ dataDir });
    const g = new RawGlacier(s.url, 'legacy');
    assert.deepEqual(readdirSync(outDir), [`${jobId}.json`], 'start-up removed the orphan and the temp file, kept the live output');
    const d = (await g.describeJob(jobId)).json();
    assert.equal(d.StatusCode, 'Succeeded');
    assert.equal(d.InventorySizeInBytes, legacy.length);
    const out = await g.getJobOutput(jobId);
    assert.equal(out.status, 200);
    assert.equal(out.headers['content-type'], 'application/json');
    assert.ok(out.body.equals(legacy));
    const ranged = await g.getJobOutput(jobId, 'bytes=2-11');
    assert.equal(ranged.status, 206);
    assert.ok(ranged.body.equals(legacy.subarray(2, 12)));
    // New inventories of the same data dir are blobs.
    const fresh = await initiate(g, { Type: 'inventory-retrieval' });
    await s.running.app.jobs.runDue();
    assert.equal((await g.getJobOutput(fresh)).status, 200);
    assert.ok(!isLegacyOutputKey((await s.running.app.store.jobs.getByJobId(fresh))!.outputKey!));
    assert.deepEqual(readdirSync(outDir), [`${jobId}.json`]);
    // Expired: 404, and the file goes with its job.
    s.clock.advance(H + 1);
    await s.running.app.jobs.runDue();
    assert.equal((await g.getJobOutput(jobId)).status, 404);
    assert.deepEqual(readdirSync(outDir), []);
  } finally {
    await s?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
