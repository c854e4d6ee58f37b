import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SecretBox } from '../../src/auth/secrets.js';
import { SqliteMetadataStore } from '../../src/storage/metadata/sqlite/index.js';

// Secrets at rest (docs/security.md): AES-256-GCM under <data dir>/master.key.

test('SecretBox: round trip; the ciphertext is bound to its access key id; a different key cannot open it', () => {
  const box = SecretBox.ephemeral();
  const sealed = box.seal('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'AKIAIOSFODNN7EXAMPLE');
  assert.match(sealed, /^v1:[\w-]+:[\w-]+:[\w-]+$/);
  assert.equal(sealed.includes('wJalr'), false);
  assert.equal(box.open(sealed, 'AKIAIOSFODNN7EXAMPLE'), 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');
  assert.equal(box.open(sealed, 'AKIAOTHERKEY00000000'), null, 'moved to another row');
  assert.equal(SecretBox.ephemeral().open(sealed, 'AKIAIOSFODNN7EXAMPLE'), null, 'another master key');
  assert.notEqual(box.seal('same', 'k'), box.seal('same', 'k'), 'fresh IV each time');
  const [v, iv, tag, ct] = sealed.split(':');
  const flipped = `${v}:${iv}:${tag}:${ct!.slice(0, -2)}${ct!.endsWith('A') ? 'B' : 'A'}${ct!.slice(-1)}`;
  assert.equal(box.open(flipped, 'AKIAIOSFODNN7EXAMPLE'), null, 'tampered ciphertext');
});

test('the store creates master.key (0600), seals old plain-text rows on open, and refuses to start without the key', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'firn-secrets-'));
  try {
    const file = join(dir, 'meta.db');
    let store = new SqliteMetadataStore(file);
    await store.accounts.ensureAccount('111122223333', 1);
    await store.close();
    // A row as written before migration 005: the secret in plain text.
    const raw = new Database(file);
    raw.prepare("INSERT INTO access_keys (access_key_id, account_id, user_name, secret, status, created_at) VALUES ('AKIAOLDPLAINTEXT0001', '111122223333', NULL, 'old-plain-secret-0000', 'Active', 1)").run();
    raw.close();
    store = new SqliteMetadataStore(file);
    assert.equal((await store.accounts.getAccessKey('AKIAOLDPLAINTEXT0001'))?.secret, 'old-plain-secret-0000');
    await store.close();
    const check = new Database(file, { readonly: true });
    const stored = (check.prepare("SELECT secret FROM access_keys WHERE access_key_id = 'AKIAOLDPLAINTEXT0001'").get() as { secret: string }).secret;
    check.close();
    assert.match(stored, /^v1:/);
    assert.equal(statSync(join(dir, 'master.key')).mode & 0o077, 0);
    assert.match(readFileSync(join(dir, 'master.key'), 'utf8'), /^[0-9a-f]{64}\n$/);

    // The database alone (no master.key) does not open: a new key could never read the secrets.
    const keyText = readFileSync(join(dir, 'master.key'), 'utf8');
    unlinkSync(join(dir, 'master.key'));
    assert.throws(() => new SqliteMetadataStore(file), /master key file .* is missing/);
    writeFileSync(join(dir, 'master.key'), keyText, { mode: 0o600 });
    store = new SqliteMetadataStore(file);
    assert.equal((await store.accounts.getAccessKey('AKIAOLDPLAINTEXT0001'))?.secret, 'old-plain-secret-0000');
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
