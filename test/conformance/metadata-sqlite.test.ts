import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { migrate, migrationsDir } from '../../src/storage/metadata/sqlite/db.js';
import { backend } from './sqlite-backend.js';
import { metadataStoreSuite } from './metadata-suite.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  await backend.cleanup?.();
});

metadataStoreSuite(backend);

test('migration 007 on a data dir written before it: ids above every id in use, leftovers of deleted vaults unreachable', () => {
  const d = mkdtempSync(join(tmpdir(), 'firn-meta-'));
  dirs.push(d);
  const old = join(d, 'migrations-006');
  mkdirSync(old);
  for (const f of readdirSync(migrationsDir()).filter((f) => f < '007')) copyFileSync(join(migrationsDir(), f), join(old, f));
  const db = new Database(join(d, 'meta.db'));
  db.pragma('foreign_keys = ON');
  migrate(db, old);
  // Vault 1 lives; vault 2 was deleted, leaving a job and an upload; vault 3 was deleted and its
  // id then reused by a vault created later (the defect), so the older job of id 3 is a predecessor's.
  db.exec(`INSERT INTO vaults (id, account_id, region, name, created_at) VALUES (1, '111122223333', 'us-east-1', 'live', 100), (3, '999988887777', 'us-east-1', 'reused', 500);
    INSERT INTO jobs (seq, job_id, vault_id, vault_arn, action, created_at) VALUES (7, 'J-live', 1, 'a', 'InventoryRetrieval', 150),
      (8, 'J-deleted', 2, 'a', 'InventoryRetrieval', 200), (9, 'J-predecessor', 3, 'a', 'InventoryRetrieval', 300), (10, 'J-reused', 3, 'a', 'InventoryRetrieval', 600);
    INSERT INTO uploads (upload_id, vault_id, part_size, created_at, last_activity_at) VALUES ('U-deleted', 2, 1048576, 200, 200), ('U-live', 1, 1048576, 150, 150);
    INSERT INTO archives (vault_id, archive_id, size, tree_hash, description, created_at, blob_key, deleted_at) VALUES (4, 'A-old', 1, 'x', '', 50, 'b', 60);`);
  migrate(db);
  const vaultOf = (sql: string, id: string) => (db.prepare(sql).get(id) as { vault_id: number }).vault_id;
  assert.equal(vaultOf('SELECT vault_id FROM jobs WHERE job_id = ?', 'J-live'), 1);
  assert.equal(vaultOf('SELECT vault_id FROM jobs WHERE job_id = ?', 'J-reused'), 3);
  assert.equal(vaultOf('SELECT vault_id FROM jobs WHERE job_id = ?', 'J-deleted'), 0);
  assert.equal(vaultOf('SELECT vault_id FROM jobs WHERE job_id = ?', 'J-predecessor'), 0);
  assert.equal(vaultOf('SELECT vault_id FROM uploads WHERE upload_id = ?', 'U-deleted'), 0);
  assert.equal(vaultOf('SELECT vault_id FROM uploads WHERE upload_id = ?', 'U-live'), 1);
  assert.equal(vaultOf('SELECT vault_id FROM archives WHERE archive_id = ?', 'A-old'), 0);
  const seq = (name: string) => (db.prepare('SELECT last_id FROM id_sequences WHERE name = ?').get(name) as { last_id: number }).last_id;
  assert.equal(seq('vaults'), 4, 'above the highest vault id any row mentions');
  assert.equal(seq('jobs'), 10);
  db.close();
});

test('migration 008 keeps inventory outputs written before it valid: their file names are no blobs, expiry and vault deletion release nothing', async () => {
  const d = mkdtempSync(join(tmpdir(), 'firn-meta-'));
  dirs.push(d);
  const old = join(d, 'migrations-007');
  mkdirSync(old);
  for (const f of readdirSync(migrationsDir()).filter((f) => f < '008')) copyFileSync(join(migrationsDir(), f), join(old, f));
  const file = join(d, 'meta.db');
  const db = new Database(file);
  migrate(db, old);
  db.exec(`INSERT INTO vaults (id, account_id, region, name, created_at) VALUES (1, '111122223333', 'us-east-1', 'v', 100);
    UPDATE id_sequences SET last_id = 1 WHERE name = 'vaults';
    INSERT INTO jobs (seq, job_id, vault_id, vault_arn, action, created_at, status, completed_at, output_size, output_key, expires_at)
      VALUES (1, 'J-old-1', 1, 'a', 'InventoryRetrieval', 150, 'Succeeded', 160, 2, 'J-old-1.json', 1000),
             (2, 'J-old-2', 1, 'a', 'InventoryRetrieval', 150, 'Succeeded', 160, 2, 'J-old-2.json', 5000);
    UPDATE id_sequences SET last_id = 2 WHERE name = 'jobs';`);
  db.close();
  const s = await backend.open(file);
  try {
    const j = await s.jobs.getByJobId('J-old-1');
    assert.equal(j?.outputKey, 'J-old-1.json', 'the legacy file name is kept for the job layer');
    assert.deepEqual((await s.jobs.expire(1000, 10)).map((x) => x.jobId), ['J-old-1']);
    assert.deepEqual(await s.blobs.garbage(10), [], 'a legacy output is no blob: nothing to release');
    assert.deepEqual(await s.vaults.delete(1, () => true, 2000), { deleted: true });
    assert.deepEqual(await s.blobs.garbage(10), []);
  } finally {
    await s.close();
  }
});
