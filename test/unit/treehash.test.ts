import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { MiB, TreeHasher, treeHash, reduceDigests, rangeTreeHash, isTreeHashAligned, treeHashOfLeaves } from '../../src/domain/treehash.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Tree-hash vectors (botocore-computed, and the smithy / keisentraut third-party values). */
const vectors: [string, Buffer, string][] = [
  ['empty', Buffer.alloc(0), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
  ['"test"', Buffer.from('test'), '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'],
  ['"hello world"', Buffer.from('hello world'), 'b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9'],
  ['1 MiB zeros', Buffer.alloc(MiB), '30e14955ebf1352266dc2ff8067e68104607e750abb9d3b36582b8af909fcb58'],
  ['1 MiB + 1 zeros', Buffer.alloc(MiB + 1), '28638dab8d5e1754a4ecb38b0ebe6df66c844f94aed142d4d0283d208bb786cd'],
  ['2 MiB zeros', Buffer.alloc(2 * MiB), '861890b487038d840e9d71d43bbc0fd4571453fb9d9b1f370caa3582a29b0ec7'],
  ['3 MiB zeros', Buffer.alloc(3 * MiB), 'ca6cc129a4514ec765de86a4e7a49adf44842c9cac213c383ebe4071271bdf21'],
  ['5.5 MiB zeros', Buffer.alloc(5.5 * MiB), 'a3a82dbe3644dd6046be472f2e3ec1f8ef47f8f3adb86d0de4de7a254f255455'],
];

for (const [name, data, expected] of vectors) {
  test(`tree hash of ${name} matches the DG checksum-calculations vector`, () => {
    assert.equal(treeHash(data), expected);
  });
}

test('the linear hash of 1 MiB+1, 2, 3 and 5.5 MiB zeros starts with the reference values (and differs from the tree hash)', () => {
  assert.ok(sha(Buffer.alloc(MiB + 1)).startsWith('2cb74edb'));
  assert.ok(sha(Buffer.alloc(2 * MiB)).startsWith('5647f05e'));
  assert.ok(sha(Buffer.alloc(3 * MiB)).startsWith('bbd05cf6'));
  assert.ok(sha(Buffer.alloc(5.5 * MiB)).startsWith('733cf513'));
});

test('1 MiB − 1 bytes: one leaf, the tree hash equals the plain SHA-256', () => {
  const d = Buffer.alloc(MiB - 1, 7);
  assert.equal(treeHash(d), sha(d));
});

test('streaming in odd-sized chunks gives the same tree hash, linear hash and leaves as one update', () => {
  const data = randomBytes(3 * MiB + 12345);
  const whole = new TreeHasher({ linear: true });
  whole.update(data);
  const a = whole.digest();
  const parts = new TreeHasher({ linear: true });
  for (let off = 0, step = 1; off < data.length; off += step, step = (step * 7 + 13) % 300_000 + 1) parts.update(data.subarray(off, off + step));
  const b = parts.digest();
  assert.equal(b.treeHash, a.treeHash);
  assert.equal(b.linearHash, sha(data));
  assert.equal(b.leaves.length, 4 * 32);
  assert.ok(b.leaves.equals(a.leaves));
  assert.equal(b.size, data.length);
});

test('composition: the part tree hashes of a multipart upload reduce to the archive tree hash', () => {
  const data = randomBytes(7 * MiB + 99);
  for (const partSize of [MiB, 2 * MiB, 4 * MiB]) {
    const roots: Buffer[] = [];
    for (let off = 0; off < data.length; off += partSize) roots.push(Buffer.from(treeHash(data.subarray(off, off + partSize)), 'hex'));
    assert.equal(reduceDigests(roots).toString('hex'), treeHash(data), `part size ${partSize}`);
  }
});

test('range tree hashes from stored leaves equal the hash of the bytes for aligned ranges (6.5 MiB example)', () => {
  const size = 6.5 * MiB;
  const data = randomBytes(size);
  const h = new TreeHasher();
  h.update(data);
  const { leaves } = h.digest();
  assert.equal(rangeTreeHash(leaves, 2 * MiB, 4 * MiB, size), treeHash(data.subarray(2 * MiB, 4 * MiB)));
  assert.equal(rangeTreeHash(leaves, 4 * MiB, size, size), treeHash(data.subarray(4 * MiB)));
  assert.equal(rangeTreeHash(leaves, 0, size, size), treeHash(data));
  assert.equal(rangeTreeHash(leaves, MiB, 3 * MiB, size), null);
  assert.equal(isTreeHashAligned(3 * MiB, 4 * MiB, size), true);
  assert.equal(treeHashOfLeaves(leaves), treeHash(data));
});
