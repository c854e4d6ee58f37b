import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { RawGlacier } from '../helpers/glacier-raw.js';
import { blobFiles } from '../helpers/uploads.js';
import { rng } from '../helpers/rng.js';
import { treeHash } from '../../src/domain/treehash.js';
import { BACKUP_HOLD_KEY } from '../../src/backup/hold.js';
import { backup, restore } from '../../src/backup/index.js';

const CLI = fileURLToPath(new URL('../helpers/firn-cli.ts', import.meta.url));

/** Runs the real `firn` CLI in a child process (the server keeps serving in this one meanwhile). */
function firn(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c));
    p.stderr.on('data', (c: Buffer) => (stderr += c));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function retrieve(s: TestServer, g: RawGlacier, archiveId: string): Promise<Buffer> {
  const j = await g.req('POST', '/jobs', { body: JSON.stringify({ Type: 'archive-retrieval', ArchiveId: archiveId }), headers: { 'content-type': 'application/json' } });
  assert.equal(j.status, 202, j.body.toString());
  await s.running.app.jobs.runDue();
  const out = await g.req('GET', `/jobs/${String(j.headers['x-amz-job-id'])}/output`);
  assert.equal(out.status, 200, out.body.toString());
  return out.body;
}

test('a backup taken during concurrent uploads restores every archive acknowledged before it began, byte-exact', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'firn-backup-'));
  const s = await startTestServer();
  let restored: TestServer | null = null;
  try {
    const random = rng(15);
    const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));
    const g = new RawGlacier(s.url, 'keep');
    assert.equal((await g.createVault()).status, 201);

    const acknowledged = new Map<string, Buffer>();
    for (let i = 0; i < 8; i++) {
      const data = bytes(1 + Math.floor(random() * 200_000));
      const r = await g.uploadArchive(data, `single ${i}`);
      assert.equal(r.status, 201);
      acknowledged.set(String(r.headers['x-amz-archive-id']), data);
    }
    // A multipart archive: its blob is a manifest over two part blobs.
    const MiB = 1024 * 1024;
    const mp = bytes(MiB + 300_000);
    const up = String((await g.initiateMultipart(MiB, 'multipart')).headers['x-amz-multipart-upload-id']);
    assert.equal((await g.uploadPart(up, 0, mp.subarray(0, MiB))).status, 204);
    assert.equal((await g.uploadPart(up, MiB, mp.subarray(MiB))).status, 204);
    const done = await g.completeMultipart(up, mp.length, treeHash(mp));
    assert.equal(done.status, 201);
    acknowledged.set(String(done.headers['x-amz-archive-id']), mp);
    // A completed inventory job: its output is a blob held by the job, backed up like the archives.
    const inv = await g.req('POST', '/jobs', { body: JSON.stringify({ Type: 'inventory-retrieval', Format: 'CSV' }), headers: { 'content-type': 'application/json' } });
    assert.equal(inv.status, 202, inv.body.toString());
    const inventoryJob = String(inv.headers['x-amz-job-id']);
    await s.running.app.jobs.runDue();
    const inventory = (await g.req('GET', `/jobs/${inventoryJob}/output`)).body;
    assert.match(inventory.toString(), /^ArchiveId,/);
    // An upload still in progress whose part is re-uploaded (a new blob replaces the old) during the backup.
    const open = String((await g.initiateMultipart(MiB, 'open')).headers['x-amz-multipart-upload-id']);
    assert.equal((await g.uploadPart(open, 0, bytes(MiB))).status, 204);

    const out = join(tmp, 'backup');
    const running = firn('backup', '--output', out, '--data-dir', s.dataDir);
    let finished = false;
    void running.then(() => (finished = true));
    let during = 0;
    while (!finished) {
      const data = bytes(1 + Math.floor(random() * 50_000));
      const r = await g.uploadArchive(data, `during ${during}`);
      assert.equal(r.status, 201);
      assert.equal((await g.uploadPart(open, 0, bytes(MiB))).status, 204);
      // Deleting an archive acknowledged during the backup releases its blob; the collector must hold off.
      assert.equal((await g.req('DELETE', `/archives/${String(r.headers['x-amz-archive-id'])}`)).status, 204);
      await s.running.app.blobMaintenance.collect();
      during++;
    }
    const b = await running;
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stdout, /holds master\.key, the key that decrypts every stored secret access key/);
    assert.ok(during > 0, 'uploads ran while the backup did');
    assert.equal(await s.running.app.store.state.get(BACKUP_HOLD_KEY), '0', 'the hold is released');
    assert.equal(statSync(join(out, 'meta.db')).mode & 0o777, 0o600);
    assert.ok(!existsSync(join(out, 'meta.db-wal')), 'the snapshot is one self-contained file');
    await s.stop();

    const dataDir = join(tmp, 'restored');
    const r = await firn('restore', '--from', out, '--data-dir', dataDir);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(statSync(join(dataDir, 'master.key')).mode & 0o777, 0o600);

    restored = await startTestServer({ dataDir });
    assert.equal((await fetch(`${restored.url}/_firn/ready`)).status, 200);
    const rg = new RawGlacier(restored.url, 'keep');
    for (const [id, data] of acknowledged) assert.ok((await retrieve(restored, rg, id)).equals(data), `archive ${id.slice(0, 12)}… byte-exact`);
    const invOut = await rg.req('GET', `/jobs/${inventoryJob}/output`);
    assert.equal(invOut.status, 200, invOut.body.toString());
    assert.ok(invOut.body.equals(inventory), 'the inventory output is restored with its job');
    // The restored server did not inherit the backup's hold: deleting reclaims space at once.
    const before = blobFiles(restored).data.length;
    const extra = await rg.uploadArchive(Buffer.from('extra'), 'extra');
    assert.equal(blobFiles(restored).data.length, before + 1);
    assert.equal((await rg.req('DELETE', `/archives/${String(extra.headers['x-amz-archive-id'])}`)).status, 204);
    await restored.running.app.blobMaintenance.collect();
    assert.equal(blobFiles(restored).data.length, before);
  } finally {
    await restored?.close();
    await s.close();
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('restore refuses an incomplete backup and a non-empty data directory', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'firn-backup-'));
  try {
    const none = await firn('restore', '--from', join(tmp, 'nothing'), '--data-dir', join(tmp, 'new'));
    assert.equal(none.code, 1);
    assert.match(none.stderr, /holds no complete Firn backup/);
    assert.ok(!existsSync(join(tmp, 'new')));
    const busy = await firn('backup', '--output', tmp, '--data-dir', join(tmp, 'nothing'));
    assert.equal(busy.code, 1);
    assert.match(busy.stderr, /no Firn database/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('blobs the snapshot references survive deletes and collection between the snapshot and the copy', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'firn-backup-'));
  const s = await startTestServer();
  let restored: TestServer | null = null;
  try {
    const g = new RawGlacier(s.url, 'race');
    assert.equal((await g.createVault()).status, 201);
    const data = Buffer.from('acknowledged before the backup, deleted while it copies');
    const id = String((await g.uploadArchive(data, 'x')).headers['x-amz-archive-id']);
    const files = blobFiles(s).data.length;
    await backup(s.dataDir, join(tmp, 'b'), {
      afterSnapshot: async () => {
        assert.equal((await g.req('DELETE', `/archives/${id}`)).status, 204);
        assert.equal(await s.running.app.blobMaintenance.collect(), 0, 'deletion is held');
        assert.equal(blobFiles(s).data.length, files);
      },
    });
    assert.equal(await s.running.app.blobMaintenance.collect(), 1, 'released after the backup');
    await s.stop();
    await restore(join(tmp, 'b'), join(tmp, 'r'));
    restored = await startTestServer({ dataDir: join(tmp, 'r') });
    assert.ok((await retrieve(restored, new RawGlacier(restored.url, 'race'), id)).equals(data));
  } finally {
    await restored?.close();
    await s.close();
    rmSync(tmp, { recursive: true, force: true });
  }
});
