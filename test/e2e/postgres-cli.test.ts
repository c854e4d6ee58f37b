/**
 * Admin commands against PostgreSQL metadata (FIRN_METADATA_URL / --metadata-url): they open the
 * schema `firn serve` migrated, refuse one it never did, and report an unreachable database in
 * one line. Secrets are sealed under the master key whatever the backend.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStorage } from '../../src/storage/index.js';
import { admin, backend, freshSchema } from '../conformance/postgres-backend.js';
import { useTestPostgres } from '../helpers/postgres.js';

const CLI = fileURLToPath(new URL('../helpers/firn-cli.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'firn-pg-cli-'));
after(async () => {
  await backend.cleanup?.();
  rmSync(dir, { recursive: true, force: true });
});
useTestPostgres();

function firn(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, FIRN_ACCOUNT_ID: '', FIRN_MASTER_KEY_FILE: '', FIRN_METADATA_URL: '', FIRN_DATA_DIR: join(dir, 'data'), ...env },
  });
}

test('admin commands work on the PostgreSQL schema FIRN_METADATA_URL names, with secrets sealed', async () => {
  const url = await freshSchema();
  const keyFile = join(dir, 'shared.key');
  // `firn serve` migrates the schema at start; openStorage is what it calls.
  const storage = await openStorage({ dataDir: join(dir, 'data'), masterKeyFile: keyFile, metadataUrl: url });
  assert.equal(storage.metadata.kind, 'postgres');
  assert.equal(storage.exclusive, false, 'a PostgreSQL store is shared, never exclusive');
  await storage.metadata.close();

  const made = firn(['accounts', 'create', '--account-id', '123456789012', '--json'], { FIRN_METADATA_URL: url, FIRN_MASTER_KEY_FILE: keyFile });
  assert.equal(made.status, 0, made.stderr);
  const key = JSON.parse(made.stdout) as { AccessKeyId: string; SecretAccessKey: string };
  const creds = firn(['credentials', '--metadata-url', url, '--master-key-file', keyFile]);
  assert.equal(creds.status, 0, creds.stderr);
  assert.match(creds.stdout, new RegExp(`AWS_SECRET_ACCESS_KEY=${key.SecretAccessKey}`));
  const schema = new URL(url).searchParams.get('options')!.split('=')[1]!;
  const stored = await admin((c) => c.query<{ secret: string }>(`SELECT secret FROM ${schema}.access_keys WHERE access_key_id = $1`, [key.AccessKeyId]));
  assert.notEqual(stored.rows[0]?.secret, key.SecretAccessKey, 'the database holds the sealed secret only');
  assert.ok(stored.rows[0]?.secret.startsWith('v1:'));
});

test('admin commands refuse a schema firn serve never migrated (creating nothing) and an unreachable database, in one line', async () => {
  const url = await freshSchema();
  const r = firn(['accounts', 'list'], { FIRN_METADATA_URL: url });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^firn: the PostgreSQL schema firn_t_\w+ holds no Firn metadata/);
  const schema = new URL(url).searchParams.get('options')!.split('=')[1]!;
  assert.equal((await admin((c) => c.query('SELECT 1 FROM information_schema.tables WHERE table_schema = $1', [schema]))).rowCount, 0);

  const down = firn(['keys', 'list', '--metadata-url', 'postgres://firn:secret-pw@127.0.0.1:1/firndb']);
  assert.equal(down.status, 1);
  assert.equal(down.stderr.trim().split('\n').length, 1, down.stderr);
  assert.match(down.stderr, /^firn: cannot use the PostgreSQL metadata database 127\.0\.0\.1:1\/firndb: /);
  assert.doesNotMatch(down.stderr, /secret-pw/);
  const scrub = firn(['scrub'], { FIRN_METADATA_URL: url });
  assert.equal(scrub.status, 2, scrub.stderr);
  // `firn backup` copies SQLite data directories only: with PostgreSQL it would copy no database.
  const backup = firn(['backup', '--output', join(dir, 'backup')], { FIRN_METADATA_URL: url });
  assert.equal(backup.status, 1);
  assert.match(backup.stderr, /^firn: firn backup copies an embedded data directory \(SQLite\); with FIRN_METADATA_URL set, back up PostgreSQL with pg_dump/);
});
