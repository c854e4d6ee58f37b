import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { BlobStore } from '../../src/storage/blobs/types.js';

async function collect(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function put(store: BlobStore, data: Buffer, chunk = 65536): Promise<string> {
  const w = await store.create();
  for (let off = 0; off < data.length; off += chunk) await w.write(data.subarray(off, off + chunk));
  assert.equal(w.bytes, data.length);
  return w.commit();
}

async function keys(store: BlobStore): Promise<string[]> {
  const out: string[] = [];
  for await (const k of store.list()) out.push(k);
  return out.sort();
}

/**
 * The BlobStore contract. `open(id)` returns a store over the same backing storage for the same
 * id (a restart), so crash leftovers can be checked; an S3 implementation passes the same suite.
 */
export function blobStoreConformance(name: string, open: (id: string) => Promise<BlobStore>, dispose: (id: string) => Promise<void>) {
  describe(`BlobStore conformance: ${name}`, () => {
    let store: BlobStore;
    const id = 'main';
    before(async () => {
      store = await open(id);
      await store.init();
    });
    after(async () => {
      await store.close();
      await dispose(id);
    });

    test('a committed blob reads back whole and in ranges; size is its length', async () => {
      const data = randomBytes(3 * 1024 * 1024 + 777);
      const key = await put(store, data, 100_000);
      assert.match(key, /^[A-Za-z0-9_-]+$/);
      assert.equal(await store.size(key), data.length);
      assert.ok((await collect(store.read(key, 0, data.length))).equals(data));
      assert.ok((await collect(store.read(key, 1_000_000, 2_100_000))).equals(data.subarray(1_000_000, 2_100_000)));
      assert.ok((await collect(store.read(key, data.length - 1, data.length))).equals(data.subarray(data.length - 1)));
      assert.equal((await collect(store.read(key, 5, 5))).length, 0);
      assert.equal(store.isManifest(key), false);
    });

    test('every commit gets a new key, even for the same bytes', async () => {
      const data = Buffer.from('same bytes');
      const a = await put(store, data);
      const b = await put(store, data);
      assert.notEqual(a, b);
      assert.ok((await keys(store)).includes(a));
      assert.ok((await keys(store)).includes(b));
    });

    test('an aborted write leaves nothing visible, and abort is idempotent', async () => {
      const before = await keys(store);
      const w = await store.create();
      await w.write(randomBytes(2 * 1024 * 1024));
      await w.abort();
      await w.abort();
      assert.deepEqual(await keys(store), before);
      await assert.rejects(() => w.commit());
    });

    test('delete removes a blob; deleting again is fine; size is then null', async () => {
      const key = await put(store, Buffer.from('to be deleted'));
      await store.delete(key);
      await store.delete(key);
      assert.equal(await store.size(key), null);
      assert.ok(!(await keys(store)).includes(key));
    });

    test('a manifest reads as its members back to back, across member boundaries, without copying them', async () => {
      const parts = [randomBytes(1024 * 1024), randomBytes(1024 * 1024), randomBytes(12345)];
      const members = [];
      for (const p of parts) members.push({ key: await put(store, p), size: p.length });
      const m = await store.createManifest(members);
      assert.equal(store.isManifest(m), true);
      const whole = Buffer.concat(parts);
      assert.equal(await store.size(m), whole.length);
      assert.ok((await collect(store.read(m, 0, whole.length))).equals(whole));
      for (const [s, e] of [
        [0, 1],
        [1024 * 1024 - 10, 1024 * 1024 + 10],
        [500_000, 2 * 1024 * 1024 + 100],
        [2 * 1024 * 1024, whole.length],
        [whole.length - 1, whole.length],
      ] as const) {
        assert.ok((await collect(store.read(m, s, e))).equals(whole.subarray(s, e)), `range ${s}-${e}`);
      }
      // Deleting the manifest leaves its members (their lifetime is the metadata's business).
      await store.delete(m);
      for (const mem of members) assert.equal(await store.size(mem.key), mem.size);
    });

    test('reading past the end of a manifest fails instead of returning short data', async () => {
      const key = await put(store, Buffer.from('abc'));
      const m = await store.createManifest([{ key, size: 3 }]);
      await assert.rejects(() => collect(store.read(m, 0, 10)));
    });

    test('a write interrupted by a crash leaves no visible blob, and init on restart cleans it up', async () => {
      const rid = 'crash';
      const s1 = await open(rid);
      await s1.init();
      const kept = await put(s1, Buffer.from('committed before the crash'));
      const w = await s1.create();
      await w.write(randomBytes(1024 * 1024 + 5));
      // No commit, no abort: the process "dies" here.
      const s2 = await open(rid);
      assert.deepEqual(await keys(s2), [kept]);
      const { removedTemp } = await s2.init();
      assert.ok(removedTemp >= 1);
      assert.deepEqual(await keys(s2), [kept]);
      assert.equal((await collect(s2.read(kept, 0, 26))).toString(), 'committed before the crash');
      await s2.close();
      await dispose(rid);
    });

    test('a read can be aborted with a signal', async () => {
      const key = await put(store, randomBytes(4 * 1024 * 1024));
      const ac = new AbortController();
      const r = store.read(key, 0, 4 * 1024 * 1024, ac.signal);
      let got = 0;
      await assert.rejects(async () => {
        for await (const c of r) {
          got += (c as Buffer).length;
          ac.abort();
        }
      });
      assert.ok(got < 4 * 1024 * 1024);
    });

    test('16 MiB written in 7-byte-aligned odd chunks reads back with the same SHA-256', async () => {
      const data = randomBytes(16 * 1024 * 1024);
      const key = await put(store, data, 65_543);
      const h = createHash('sha256');
      for await (const c of store.read(key, 0, data.length)) h.update(c as Buffer);
      assert.equal(h.digest('hex'), createHash('sha256').update(data).digest('hex'));
    });
  });
}

