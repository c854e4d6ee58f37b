import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SecretBox } from '../../src/auth/secrets.js';
import { SqliteMetadataStore } from '../../src/storage/metadata/sqlite/index.js';
import { openStorage } from '../../src/storage/index.js';

// Secrets at rest (docs/security.md): AES-256-GCM under the master key (<data dir>/master.key by default).

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

test('openStorage creates master.key (0600), seals old plain-text rows on open, and refuses to start without the key', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'firn-secrets-'));
  const config = { dataDir: dir, masterKeyFile: '' };
  const meta = async () => (await openStorage(config)).metadata;
  try {
    const file = join(dir, 'meta.db');
    let store = await meta();
    await store.accounts.ensureAccount('111122223333', 1);
    await store.close();
    // A row as written before migration 005: the secret in plain text.
    const raw = new Database(file);
    raw.prepare("INSERT INTO access_keys (access_key_id, account_id, user_name, secret, status, created_at) VALUES ('AKIAOLDPLAINTEXT0001', '111122223333', NULL, 'old-plain-secret-0000', 'Active', 1)").run();
    raw.close();
    store = await meta();
    assert.equal((await store.accounts.getAccessKey('AKIAOLDPLAINTEXT0001'))?.secret, 'old-plain-secret-0000');
    await store.close();
    const stored = async () => {
      const check = new Database(file, { readonly: true });
      const r = (check.prepare("SELECT secret FROM access_keys WHERE access_key_id = 'AKIAOLDPLAINTEXT0001'").get() as { secret: string }).secret;
      check.close();
      return r;
    };
    assert.match(await stored(), /^v1:/);
    assert.equal(statSync(join(dir, 'master.key')).mode & 0o077, 0);
    assert.match(readFileSync(join(dir, 'master.key'), 'utf8'), /^[0-9a-f]{64}\n$/);
    // The raw SQLite repository keeps the sealed text; only the store openStorage returns opens it.
    const rawStore = new SqliteMetadataStore(file);
    assert.equal((await rawStore.accounts.getAccessKey('AKIAOLDPLAINTEXT0001'))?.secret, await stored());
    await rawStore.close();

    // The database alone (no master.key) does not open: a new key could never read the secrets.
    const keyText = readFileSync(join(dir, 'master.key'), 'utf8');
    unlinkSync(join(dir, 'master.key'));
    await assert.rejects(meta(), /master key file .* is missing/);
    writeFileSync(join(dir, 'master.key'), keyText, { mode: 0o600 });
    store = await meta();
    assert.equal((await store.accounts.getAccessKey('AKIAOLDPLAINTEXT0001'))?.secret, 'old-plain-secret-0000');
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('FIRN_MASTER_KEY_FILE: the key lives where configured; concurrent first opens agree on one key', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'firn-secrets-'));
  const keyFile = join(dir, 'elsewhere', 'shared.key');
  mkdirSync(join(dir, 'elsewhere'));
  try {
    // Two handles open the fresh data directory at once; each stores a key sealed with the key it read.
    const both = await Promise.all([openStorage({ dataDir: join(dir, 'data'), masterKeyFile: keyFile }), openStorage({ dataDir: join(dir, 'data'), masterKeyFile: keyFile })]);
    for (const [i, s] of both.entries()) {
      await s.metadata.accounts.ensureAccount('111122223333', 1);
      await s.metadata.accounts.putAccessKey({ accessKeyId: `AKIAFIRST00000000000${i}`, accountId: '111122223333', userName: null, secret: `secret-${i}`, status: 'Active', createdAt: 1 });
    }
    for (const s of both) await s.metadata.close();
    assert.equal(existsSync(join(dir, 'data', 'master.key')), false, 'no key beside the database');
    assert.match(readFileSync(keyFile, 'utf8'), /^[0-9a-f]{64}\n$/);
    const s = (await openStorage({ dataDir: join(dir, 'data'), masterKeyFile: keyFile })).metadata;
    assert.deepEqual((await s.accounts.findRootKeys()).map((k) => k.secret).sort(), ['secret-0', 'secret-1']);
    await s.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a master key that cannot open the stored secrets is refused: at open, and when a put would replace one sealed under another key', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'firn-secrets-'));
  const dataDir = join(dir, 'data');
  const keyA = join(dir, 'a.key');
  const keyB = join(dir, 'b.key');
  const root = { accessKeyId: 'AKIAROOTKEY000000001', accountId: '111122223333', userName: null, secret: 'root-secret', status: 'Active' as const, createdAt: 1 };
  try {
    // Two processes on one database whose first starts each made their own key file (the race).
    const a = await openStorage({ dataDir, masterKeyFile: keyA });
    const b = await openStorage({ dataDir, masterKeyFile: keyB });
    await a.metadata.accounts.ensureAccount(root.accountId, 1);
    await a.metadata.accounts.putAccessKey(root);
    // B cannot read A's root key, and must not overwrite it with its own sealing.
    assert.equal(await b.metadata.accounts.getAccessKey(root.accessKeyId), null);
    await assert.rejects(b.metadata.accounts.putAccessKey({ ...root, secret: 'other' }), (e: Error) => e.name === 'Error' && /does not open the stored secret of AKIAROOTKEY000000001: it was sealed with another master key .*FIRN_MASTER_KEY_FILE/.test(e.message));
    await b.metadata.close();
    await a.metadata.close();
    // Opening with the wrong key is refused outright, naming the file and the count.
    await assert.rejects(openStorage({ dataDir, masterKeyFile: keyB }), new RegExp(`the master key ${keyB} does not open 1 of the 1 secret keys stored in the metadata`));
    const again = await openStorage({ dataDir, masterKeyFile: keyA });
    assert.equal((await again.metadata.accounts.getAccessKey(root.accessKeyId))?.secret, 'root-secret', "A's sealing survived");
    await again.metadata.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('opened secrets are cached by their stored text: a rotated, disabled, deleted or re-sealed key is seen on the next read', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'firn-secrets-cache-'));
  try {
    const storage = await openStorage({ dataDir: dir, masterKeyFile: '' });
    const accounts = storage.metadata.accounts;
    const id = 'AKIACACHEDSECRET0001';
    await accounts.ensureAccount('111122223333', 1);
    const put = (secret: string) => accounts.putAccessKey({ accessKeyId: id, accountId: '111122223333', userName: null, secret, status: 'Active', createdAt: 1 });
    await put('first-secret-000000000');
    assert.equal((await accounts.getAccessKey(id))?.secret, 'first-secret-000000000');
    assert.equal((await accounts.getAccessKey(id))?.secret, 'first-secret-000000000', 'served from the cache');
    await put('second-secret-00000000');
    assert.equal((await accounts.getAccessKey(id))?.secret, 'second-secret-00000000', 'rotated');
    await accounts.setAccessKeyStatus(id, 'Inactive');
    assert.equal((await accounts.getAccessKey(id))?.status, 'Inactive', 'disabled');
    // Written behind this process (another node or an admin command with the same master key).
    const box = SecretBox.fromFile(join(dir, 'master.key'), false);
    const raw = new Database(join(dir, 'meta.db'));
    raw.prepare("UPDATE access_keys SET secret = ?, status = 'Active' WHERE access_key_id = ?").run(box.seal('third-secret-000000000', id), id);
    assert.equal((await accounts.getAccessKey(id))?.secret, 'third-secret-000000000', 're-sealed elsewhere');
    // A sealed text moved to another row does not open there, cached or not.
    const other = 'AKIACACHEDSECRET0002';
    raw.prepare("INSERT INTO access_keys (access_key_id, account_id, user_name, secret, status, created_at) SELECT ?, account_id, user_name, secret, status, created_at FROM access_keys WHERE access_key_id = ?").run(other, id);
    raw.close();
    assert.equal(await accounts.getAccessKey(other), null);
    await accounts.deleteAccessKey(id);
    assert.equal(await accounts.getAccessKey(id), null, 'deleted');
    await storage.metadata.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
