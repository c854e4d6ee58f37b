import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStorage } from '../../src/storage/index.js';

const CLI = fileURLToPath(new URL('../helpers/firn-cli.ts', import.meta.url));

function firn(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8', env: { ...process.env, FIRN_ACCOUNT_ID: '', FIRN_MASTER_KEY_FILE: '', ...env } });
}

test('admin commands take the master key from --master-key-file or FIRN_MASTER_KEY_FILE, and refuse without it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'firn-master-key-'));
  try {
    const data = join(dir, 'data');
    const keyFile = join(dir, 'shared.key');
    // Admin commands work only on a data directory that exists (as `firn serve` leaves it).
    await (await openStorage({ dataDir: data, masterKeyFile: keyFile })).metadata.close();
    const made = firn(['accounts', 'create', '--account-id', '123456789012', '--json', '--data-dir', data, '--master-key-file', keyFile]);
    assert.equal(made.status, 0, made.stderr);
    const key = JSON.parse(made.stdout) as { AccessKeyId: string; SecretAccessKey: string };
    assert.equal(existsSync(join(data, 'master.key')), false);

    const creds = firn(['credentials', '--data-dir', data], { FIRN_MASTER_KEY_FILE: keyFile });
    assert.equal(creds.status, 0, creds.stderr);
    assert.match(creds.stdout, new RegExp(`AWS_SECRET_ACCESS_KEY=${key.SecretAccessKey}`));

    const without = firn(['credentials', '--data-dir', data]);
    assert.notEqual(without.status, 0);
    assert.match(without.stderr, /master key file .*master\.key is missing/);
    assert.equal(existsSync(join(data, 'master.key')), false, 'no new key was made beside the database');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
