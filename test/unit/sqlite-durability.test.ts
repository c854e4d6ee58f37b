import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fstatSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteMetadataStore } from '../../src/storage/metadata/sqlite/index.js';
import { WalDurability } from '../../src/storage/metadata/sqlite/durability.js';
import { GroupSync } from '../../src/storage/group-sync.js';

/** An fsync that completes only when the test says so, recording what it was asked to sync. */
function heldFsync() {
  const calls: { fd: number; done: (err: NodeJS.ErrnoException | null) => void }[] = [];
  const impl = (fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => {
    calls.push({ fd, done: cb });
  };
  return { calls, impl };
}

/** Lets queued promise reactions run (no timers involved). */
const turn = () => new Promise<void>((r) => setImmediate(r));

test('WalDurability: a deferred commit is visible at once, runs with synchronous=NORMAL and leaves FULL behind; `durable` waits for an fsync of the WAL file that started after the commit', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'firn-durability-'));
  const store = new SqliteMetadataStore(join(dir, 'meta.db'));
  try {
    const f = heldFsync();
    const d = new WalDurability(store.db, f.impl);
    let seen: unknown = null;
    const { result, durable } = d.commit(() => {
      seen = store.db.pragma('synchronous', { simple: true });
      return store.db.prepare("INSERT INTO pending_blobs (blob_key, owner, lease_until, created_at) VALUES ('k1', 'w', 1, 1)").run().changes;
    });
    assert.equal(result, 1);
    assert.equal(seen, 1, 'NORMAL inside the deferred commit');
    assert.equal(store.db.pragma('synchronous', { simple: true }), 2, 'FULL again afterwards');
    assert.equal(await store.blobs.known('k1'), true, 'committed: visible before it is durable');
    let isDurable = false;
    void durable.then(() => (isDurable = true));
    await turn();
    assert.equal(f.calls.length, 1, 'one fsync started after the commit');
    assert.equal(fstatSync(f.calls[0]!.fd).ino, statSync(join(dir, 'meta.db-wal')).ino, 'of the write-ahead log');
    assert.equal(isDurable, false, 'not durable before that fsync completes');

    // A second commit while the first fsync runs: that fsync may predate it, so it waits for the next one.
    const second = d.commit(() => store.db.prepare("INSERT INTO pending_blobs (blob_key, owner, lease_until, created_at) VALUES ('k2', 'w', 1, 1)").run());
    const third = d.commit(() => store.db.prepare("INSERT INTO pending_blobs (blob_key, owner, lease_until, created_at) VALUES ('k3', 'w', 1, 1)").run());
    let laterDurable = 0;
    void second.durable.then(() => laterDurable++);
    void third.durable.then(() => laterDurable++);
    f.calls[0]!.done(null);
    await durable;
    await turn();
    assert.equal(laterDurable, 0, 'the first fsync does not cover commits made while it ran');
    assert.equal(f.calls.length, 2, 'one more fsync, shared by both later commits');
    f.calls[1]!.done(null);
    await Promise.all([second.durable, third.durable]);

    // A failed fsync fails `durable` (the upload then fails; nothing is published).
    const fourth = d.commit(() => store.db.prepare("INSERT INTO pending_blobs (blob_key, owner, lease_until, created_at) VALUES ('k4', 'w', 1, 1)").run());
    await turn();
    const eio: NodeJS.ErrnoException = Object.assign(new Error('EIO'), { code: 'EIO' });
    f.calls[2]!.done(eio);
    await assert.rejects(fourth.durable, /EIO/);

    // A failing transaction still leaves FULL behind.
    assert.throws(() => d.commit(() => store.db.prepare('INSERT INTO no_such_table VALUES (1)').run()));
    assert.equal(store.db.pragma('synchronous', { simple: true }), 2);
    await d.close();
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('WalDurability with the real fsync: the store’s beginDeferred is durable and the connection stays FULL', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'firn-durability-'));
  const store = new SqliteMetadataStore(join(dir, 'meta.db'));
  try {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.blobs.beginDeferred(`b${i}`, 'w', 1e15)));
    await Promise.all(results.map((r) => r.durable));
    for (let i = 0; i < 20; i++) assert.equal(await store.blobs.known(`b${i}`), true);
    assert.equal(store.db.pragma('synchronous', { simple: true }), 2);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('GroupSync: a caller arriving during an fsync waits for the next one; callers arriving together share it', async () => {
  const f = heldFsync();
  const g = new GroupSync(() => 7, f.impl);
  const a = g.sync();
  const b = g.sync();
  const c = g.sync();
  assert.equal(f.calls.length, 1);
  let bDone = false;
  void b.then(() => (bDone = true));
  f.calls[0]!.done(null);
  await a;
  await turn();
  assert.equal(bDone, false);
  assert.equal(f.calls.length, 2, 'b and c share the second fsync');
  f.calls[1]!.done(null);
  await Promise.all([b, c]);
  await g.idle();
  assert.equal(f.calls.length, 2);
});
