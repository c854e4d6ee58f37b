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
  const key = store.newKey('blob');
  const w = await store.create(key);
  assert.equal(w.key, key);
  for (let off = 0; off < data.length; off += chunk) await w.write(data.subarray(off, off + chunk));
  assert.equal(w.bytes, data.length);
  assert.equal(await w.commit(), key);
  return key;
}

async function manifest(store: BlobStore, members: { key: string; size: number }[]): Promise<string> {
  const key = store.newKey('manifest');
  await store.createManifest(key, members);
  return key;
}

async function keys(store: BlobStore): Promise<string[]> {
  const out: string[] = [];
  for await (const k of store.list()) out.push(k);
  return out.sort();
}

/** What the suite may look at beyond the interface (optional per implementation). */
export interface BlobStoreInspection {
  /** How many unfinished writes hold temporary bytes in the backing storage of `id` (fs: files in tmp/; S3: open multipart uploads). */
  tempCount?(id: string): Promise<number>;
}

/**
 * The BlobStore contract. `open(id)` returns a store over the same backing storage for the same
 * id (a restart, or another process sharing it), so crash leftovers can be checked; an S3
 * implementation passes the same suite.
 */
export function blobStoreConformance(name: string, open: (id: string) => Promise<BlobStore>, dispose: (id: string) => Promise<void>, inspect: BlobStoreInspection = {}) {
  describe(`BlobStore conformance: ${name}`, () => {
    let store: BlobStore;
    const id = 'main';
    before(async () => {
      store = await open(id);
      await store.init({ exclusive: true });
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

    test('newKey: a fresh key per call, of the kind asked for, that nothing is stored under yet', async () => {
      const b1 = store.newKey('blob');
      const b2 = store.newKey('blob');
      const m = store.newKey('manifest');
      assert.notEqual(b1, b2);
      for (const k of [b1, b2, m]) assert.match(k, /^[A-Za-z0-9_-]+$/);
      assert.equal(store.isManifest(b1), false);
      assert.equal(store.isManifest(m), true);
      assert.equal(await store.size(b1), null);
    });

    test('nothing is visible under the key until commit resolves', async () => {
      const key = store.newKey('blob');
      const w = await store.create(key);
      await w.write(Buffer.from('not yet'));
      assert.equal(await store.size(key), null);
      assert.ok(!(await keys(store)).includes(key));
      await w.commit();
      assert.equal(await store.size(key), 7);
    });

    test('put stores a whole blob at once, small or large; it reads back; nothing is left in temp', async () => {
      const tempBefore = await inspect.tempCount?.(id);
      for (const data of [Buffer.from('x'), randomBytes(1024), randomBytes(64 * 1024 + 1), randomBytes(1024 * 1024)]) {
        const key = store.newKey('blob');
        await store.put(key, data);
        assert.equal(await store.size(key), data.length);
        assert.ok((await collect(store.read(key, 0, data.length))).equals(data));
        assert.ok((await keys(store)).includes(key));
      }
      if (tempBefore !== undefined) assert.equal(await inspect.tempCount!(id), tempBefore);
    });

    test('`after` holds a blob back: nothing is published under its key before it resolves (put, and create + commit); if it rejects, nothing is published and no temporary bytes stay', async () => {
      const tempBefore = await inspect.tempCount?.(id);
      const gate = () => {
        let open!: () => void;
        let fail!: (e: Error) => void;
        const after = new Promise<void>((res, rej) => {
          open = res;
          fail = rej;
        });
        return { after, open, fail };
      };
      const viaPut = (key: string, data: Buffer, after: Promise<void>) => store.put(key, data, { after });
      const viaWriter = async (key: string, data: Buffer, after: Promise<void>) => {
        const w = await store.create(key, { size: data.length, after });
        try {
          await w.write(data);
          await w.commit();
        } catch (e) {
          await w.abort();
          throw e;
        }
      };
      for (const write of [viaPut, viaWriter]) {
        for (const outcome of ['resolve', 'reject'] as const) {
          const data = randomBytes(3000);
          const key = store.newKey('blob');
          const g = gate();
          let settled = false;
          const op = write(key, data, g.after).finally(() => (settled = true));
          op.catch(() => {});
          // Another blob stored meanwhile went through every step the held one could have taken.
          await put(store, randomBytes(3000));
          assert.equal(settled, false, `${write.name}: settled before \`after\``);
          assert.equal(await store.size(key), null, `${write.name}: visible before \`after\``);
          assert.ok(!(await keys(store)).includes(key));
          if (outcome === 'resolve') {
            g.open();
            await op;
            assert.ok((await collect(store.read(key, 0, data.length))).equals(data));
          } else {
            g.fail(new Error('the record did not become durable'));
            await assert.rejects(op, /did not become durable/);
            assert.equal(await store.size(key), null);
            assert.ok(!(await keys(store)).includes(key));
          }
        }
      }
      if (tempBefore !== undefined) assert.equal(await inspect.tempCount!(id), tempBefore, 'no temporary bytes left');
    });

    test('an aborted write leaves nothing visible, and abort is idempotent', async () => {
      const before = await keys(store);
      const w = await store.create(store.newKey('blob'));
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
      const m = await manifest(store, members);
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

    test('readInto (where a store has it) fills a buffer in place: plain blobs, across manifest members, short only at the end; ENOENT when missing', async (t) => {
      if (!store.readInto) return t.skip(`${name} reads through read() only`);
      const parts = [randomBytes(1024 * 1024), randomBytes(300_000), randomBytes(5)];
      const members = [];
      for (const p of parts) members.push({ key: await put(store, p), size: p.length });
      const m = await manifest(store, members);
      const whole = Buffer.concat(parts);
      const plain = members[0]!.key;
      const into = async (key: string, pos: number, len: number): Promise<Buffer> => {
        const target = Buffer.alloc(len, 0xee);
        const n = await store.readInto!(key, pos, target);
        // Bytes past the count are left as they were.
        assert.ok(target.subarray(n).every((b) => b === 0xee), `untouched tail ${key} ${pos}+${len}`);
        return target.subarray(0, n);
      };
      assert.ok((await into(plain, 0, 1024 * 1024)).equals(parts[0]!));
      assert.ok((await into(plain, 1000, 4096)).equals(parts[0]!.subarray(1000, 5096)));
      assert.ok((await into(plain, 1024 * 1024 - 10, 100)).equals(parts[0]!.subarray(-10)), 'short at the end of a blob');
      assert.equal((await into(plain, 1024 * 1024, 10)).length, 0);
      for (const [pos, len] of [
        [0, whole.length],
        [1024 * 1024 - 3, 300_004],
        [1024 * 1024 + 299_999, 6],
        [500, 1024 * 1024],
      ] as const) {
        assert.ok((await into(m, pos, len)).equals(whole.subarray(pos, pos + len)), `manifest ${pos}+${len}`);
      }
      assert.ok((await into(m, whole.length - 2, 50)).equals(whole.subarray(-2)), 'short at the end of a manifest');
      await assert.rejects(() => store.readInto!(store.newKey('blob'), 0, Buffer.alloc(8)), { code: 'ENOENT' });
      await store.delete(members[1]!.key);
      await assert.rejects(() => store.readInto!(m, 1024 * 1024 - 1, Buffer.alloc(8)), { code: 'ENOENT' }, 'a missing member');
      await store.delete(m);
    });

    test('reading past the end of a manifest fails instead of returning short data', async () => {
      const key = await put(store, Buffer.from('abc'));
      const m = await manifest(store, [{ key, size: 3 }]);
      await assert.rejects(() => collect(store.read(m, 0, 10)));
    });

    test('delete(key) during a write removes its temporary bytes; the write can then not be committed', async () => {
      const key = store.newKey('blob');
      const tempBefore = await inspect.tempCount?.(id);
      const w = await store.create(key);
      await w.write(randomBytes(1024 * 1024 + 5));
      if (tempBefore !== undefined) assert.equal(await inspect.tempCount!(id), tempBefore + 1);
      // The collector reclaims a pending blob whose writer's lease lapsed; the writer lives on.
      await store.delete(key);
      if (tempBefore !== undefined) assert.equal(await inspect.tempCount!(id), tempBefore, 'the temporary bytes are gone');
      await w.write(Buffer.from('more')).catch(() => {});
      await assert.rejects(() => w.commit());
      assert.equal(await store.size(key), null);
      assert.ok(!(await keys(store)).includes(key));
      await w.abort();
      await store.delete(key);
    });

    test('init({ exclusive: false }) leaves the temporary bytes of writes in progress (another process sharing the store); they still commit', async () => {
      const rid = 'shared';
      const s1 = await open(rid);
      await s1.init({ exclusive: true });
      const key = s1.newKey('blob');
      const w = await s1.create(key);
      await w.write(Buffer.from('written while another process starts'));
      const s2 = await open(rid);
      assert.deepEqual(await s2.init({ exclusive: false }), { removedTemp: 0 });
      if (inspect.tempCount) assert.equal(await inspect.tempCount(rid), 1);
      assert.equal(await w.commit(), key);
      assert.equal((await collect(s2.read(key, 0, 36))).toString(), 'written while another process starts');
      await s1.close();
      await s2.close();
      await dispose(rid);
    });

    test('a write interrupted by a crash leaves no visible blob, and an exclusive init on restart cleans it up', async () => {
      const rid = 'crash';
      const s1 = await open(rid);
      await s1.init({ exclusive: true });
      const kept = await put(s1, Buffer.from('committed before the crash'));
      const w = await s1.create(s1.newKey('blob'));
      await w.write(randomBytes(1024 * 1024 + 5));
      // No commit, no abort: the process "dies" here.
      const s2 = await open(rid);
      assert.deepEqual(await keys(s2), [kept]);
      const { removedTemp } = await s2.init({ exclusive: true });
      assert.ok(removedTemp >= 1);
      if (inspect.tempCount) assert.equal(await inspect.tempCount(rid), 0);
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

