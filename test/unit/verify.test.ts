import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { FsBlobStore } from '../../src/storage/blobs/fs/index.js';
import { TreeHasher, MiB } from '../../src/domain/treehash.js';
import { takeBatch } from '../../src/lib/batch-pool.js';
import { LeafMismatchError, verifiedRead, firstBadLeaf, verifyWorker, type BodyChunk } from '../../src/storage/verify.js';
import type { BlobReaderContract } from '../../src/storage/blobs/types.js';

const root = mkdtempSync(join(tmpdir(), 'firn-verify-'));
const store = new FsBlobStore(root);
await store.init({ exclusive: true });
after(async () => {
  await store.close();
  await verifyWorker().close();
  rmSync(root, { recursive: true, force: true });
});

const data = randomBytes(3 * MiB + 12_345);
const w = await store.create(store.newKey('blob'));
await w.write(data);
const key = await w.commit();
const hasher = new TreeHasher();
hasher.update(data);
const leaves = { firstLeaf: 0, packed: hasher.digest().leaves };

// The fs store reads leaves in place (readInto); other stores (S3) are read through their streams.
const readers: [string, BlobReaderContract][] = [
  ['in place', store],
  ['streamed', { read: (k, s, e, signal) => store.read(k, s, e, signal) }],
];

async function drain(chunks: AsyncIterable<BodyChunk>, seen: Set<ArrayBufferLike> = new Set()): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of chunks) {
    out.push(Buffer.from(c.bytes));
    seen.add(c.bytes.buffer);
    c.release();
    c.release(); // a second release does nothing
  }
  return Buffer.concat(out);
}

for (const [how, reader] of readers) {
  test(`verifiedRead (${how}): any range reads back exactly, and released leaves go back to the pool`, async () => {
    for (const [s, e] of [
      [0, data.length],
      [1, 2],
      [MiB - 5, MiB + 5],
      [2 * MiB, 3 * MiB],
      [data.length - 1, data.length],
      [7, 7],
    ] as const) {
      assert.ok((await drain(verifiedRead(reader, key, data.length, leaves, s, e))).equals(data.subarray(s, e)), `${s}-${e}`);
    }
    const seen = new Set<ArrayBufferLike>();
    await drain(verifiedRead(reader, key, data.length, leaves, 0, data.length), seen);
    assert.ok(seen.has(takeBatch().buffer), 'the next batch taken is one the read released');
  });

  test(`verifiedRead (${how}): a leaf that does not match stops the read before its bytes; firstBadLeaf names it`, async () => {
    const packed = Buffer.from(leaves.packed);
    packed[2 * 32]! ^= 1;
    const bad = { firstLeaf: 0, packed };
    const got: Buffer[] = [];
    let told: LeafMismatchError | null = null;
    await assert.rejects(
      async () => {
        for await (const c of verifiedRead(reader, key, data.length, bad, 0, data.length, undefined, (e) => (told = e))) {
          got.push(Buffer.from(c.bytes));
          c.release();
        }
      },
      (e: unknown) => e instanceof LeafMismatchError && e.leafIndex === 2 && e.reason === 'mismatch',
    );
    assert.equal(told!.leafIndex, 2);
    assert.ok(Buffer.concat(got).equals(data.subarray(0, 2 * MiB)));
    assert.equal((await firstBadLeaf(reader, key, data.length, bad, 0, data.length))?.leafIndex, 2);
    assert.equal(await firstBadLeaf(reader, key, data.length, leaves, 0, data.length), null);
  });

  test(`verifiedRead (${how}): a blob shorter than recorded fails as short, a missing one at leaf 0`, async () => {
    const e1 = await firstBadLeaf(reader, key, data.length + MiB, { firstLeaf: 0, packed: Buffer.concat([leaves.packed, Buffer.alloc(32)]) }, 0, data.length + MiB);
    assert.equal(e1?.reason, 'short');
    assert.equal(e1?.leafIndex, 3);
    const e2 = await firstBadLeaf(reader, store.newKey('blob'), data.length, leaves, 0, data.length);
    assert.deepEqual([e2?.leafIndex, e2?.reason], [0, 'short']);
  });
}
