import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Sha256Worker } from '../../src/lib/sha256-worker.js';

test('the worker hash equals the SHA-256 of the bytes, for odd chunking and for empty input', async () => {
  const w = new Sha256Worker();
  try {
    const data = randomBytes(9 * 1024 * 1024 + 77);
    const h = w.begin();
    for (let off = 0, step = 1; off < data.length; off += step, step = (step * 13 + 7) % 400_000 + 1) await h.update(data.subarray(off, off + step));
    assert.equal(await h.digest(), createHash('sha256').update(data).digest('hex'));
    const empty = w.begin();
    assert.equal(await empty.digest(), createHash('sha256').digest('hex'));
  } finally {
    await w.close();
  }
});

test('concurrent hashes do not mix', async () => {
  const w = new Sha256Worker();
  try {
    const a = randomBytes(3 * 1024 * 1024);
    const b = randomBytes(2 * 1024 * 1024 + 5);
    const ha = w.begin();
    const hb = w.begin();
    for (let i = 0; i < 3 * 1024 * 1024; i += 65536) {
      await ha.update(a.subarray(i, i + 65536));
      await hb.update(b.subarray(i, i + 65536));
    }
    assert.equal(await hb.digest(), createHash('sha256').update(b).digest('hex'));
    assert.equal(await ha.digest(), createHash('sha256').update(a).digest('hex'));
  } finally {
    await w.close();
  }
});

test('a worker that dies fails the hashes in flight (never a wrong digest) and the next hash gets a new worker', async () => {
  const w = new Sha256Worker();
  try {
    const h = w.begin();
    await h.update(randomBytes(3 * 1024 * 1024));
    await w.close();
    await assert.rejects(() => h.digest());
    const again = w.begin();
    await again.update(Buffer.from('abc'));
    assert.equal(await again.digest(), createHash('sha256').update('abc').digest('hex'));
  } finally {
    await w.close();
  }
});

test('leaf mode returns the 1 MiB leaf digests of the tree hash, whatever the chunking', async () => {
  const { TreeHasher, reduceDigests } = await import('../../src/domain/treehash.js');
  const w = new Sha256Worker();
  try {
    for (const size of [1, 1024 * 1024 - 1, 1024 * 1024, 1024 * 1024 + 1, 5.5 * 1024 * 1024]) {
      const data = randomBytes(size);
      const h = w.begin({ leaves: true });
      for (let off = 0, step = 1; off < data.length; off += step, step = (step * 13 + 7) % 300_000 + 1) await h.update(data.subarray(off, off + step));
      const leaves = await h.leaves();
      const ref = new TreeHasher();
      ref.update(data);
      const want = ref.digest();
      assert.equal(Buffer.concat(leaves).toString('hex'), want.leaves.toString('hex'), `size ${size}`);
      assert.equal(reduceDigests(leaves).toString('hex'), want.treeHash);
    }
    const empty = w.begin({ leaves: true });
    assert.equal(reduceDigests(await empty.leaves()).toString('hex'), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  } finally {
    await w.close();
  }
});

test('hashLeaf hashes the first n bytes of a pooled batch where they are, leaving the batch usable', async () => {
  const { takeBatch } = await import('../../src/lib/batch-pool.js');
  const w = new Sha256Worker();
  try {
    const batch = takeBatch();
    randomBytes(batch.length).copy(batch);
    const before = Buffer.from(batch);
    for (const n of [0, 1, 777_777, batch.length]) {
      assert.equal((await w.hashLeaf(batch, n)).toString('hex'), createHash('sha256').update(batch.subarray(0, n)).digest('hex'), `${n} bytes`);
    }
    // Not transferred or detached: the caller still owns the same bytes.
    assert.equal(batch.length, before.length);
    assert.ok(batch.equals(before));
    const [a, b] = await Promise.all([w.hashLeaf(batch, 10), w.hashLeaf(takeBatch(), 0)]);
    assert.equal(a.toString('hex'), createHash('sha256').update(before.subarray(0, 10)).digest('hex'));
    assert.equal(b.toString('hex'), createHash('sha256').digest('hex'));
    assert.throws(() => w.hashLeaf(Buffer.alloc(16), 16), /batch/);
  } finally {
    await w.close();
  }
});
