import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { downloadIsTreeHashAligned, parseHttpRange, parseRetrievalByteRange } from '../../src/domain/ranges.js';
import { isTreeHashAligned, MiB, rangeTreeHash, TreeHasher, treeHash } from '../../src/domain/treehash.js';

test('RetrievalByteRange must be inside the archive and MiB aligned (DG api-initiate-job-post, DG checksum-calculations)', () => {
  const size = 6.5 * MiB;
  const ok = [`0-${size - 1}`, `0-${MiB - 1}`, `${MiB}-${3 * MiB - 1}`, `${4 * MiB}-${size - 1}`, `${6 * MiB}-${size - 1}`];
  for (const r of ok) assert.equal(parseRetrievalByteRange(r, size).ok, true, r);
  assert.deepEqual(parseRetrievalByteRange(`${MiB}-${3 * MiB - 1}`, size), { ok: true, range: { start: MiB, end: 3 * MiB - 1 } });
  const bad = [`1-${MiB - 1}`, `0-${MiB}`, `0-${size}`, `${2 * MiB}-${MiB - 1}`, '0-', '-5', 'abc', `0-${size - 2}`, ' 0-1048575', '0-1048575 '];
  for (const r of bad) assert.equal(parseRetrievalByteRange(r, size).ok, false, r);
  // A 1-byte archive: the only range is 0-0.
  assert.equal(parseRetrievalByteRange('0-0', 1).ok, true);
});

test('Range header: relative to the output, end clamped at EOF, suffix and open forms', () => {
  const total = 5 * MiB + 10;
  assert.deepEqual(parseHttpRange(undefined, total), { kind: 'none' });
  assert.deepEqual(parseHttpRange('bytes=0-9', total), { kind: 'range', range: { start: 0, end: 9 } });
  // boto2 asks for whole 4 MiB chunks, the last one past the end.
  assert.deepEqual(parseHttpRange(`bytes=${4 * MiB}-${8 * MiB - 1}`, total), { kind: 'range', range: { start: 4 * MiB, end: total - 1 } });
  assert.deepEqual(parseHttpRange('bytes=100-', total), { kind: 'range', range: { start: 100, end: total - 1 } });
  assert.deepEqual(parseHttpRange('bytes=-10', total), { kind: 'range', range: { start: total - 10, end: total - 1 } });
  assert.deepEqual(parseHttpRange(`bytes=-${total + 5}`, total), { kind: 'range', range: { start: 0, end: total - 1 } });
  for (const h of ['bytes=10-5', `bytes=${total}-`, 'bytes=-0', 'bytes=-', 'items=0-1', 'bytes=0-1,5-6', 'bytes=a-b']) {
    assert.equal(parseHttpRange(h, total).kind, 'invalid', h);
  }
});

/** Every node of the whole-archive tree, as [start, endExclusive) byte ranges (odd nodes promoted). */
function treeNodes(size: number): Set<string> {
  let level: [number, number][] = [];
  for (let s = 0; s < size; s += MiB) level.push([s, Math.min(s + MiB, size)]);
  const out = new Set(level.map(([a, b]) => `${a}-${b}`));
  while (level.length > 1) {
    const next: [number, number][] = [];
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? [level[i]![0], level[i + 1]![1]] : level[i]!);
    level = next;
    for (const [a, b] of level) out.add(`${a}-${b}`);
  }
  return out;
}

test('tree-hash alignment equals "is a node of the archive tree" for every MiB-aligned range', () => {
  for (const size of [1, MiB, 3 * MiB, 5 * MiB + 1, 6.5 * MiB, 7 * MiB, 16 * MiB]) {
    const nodes = treeNodes(size);
    const ends = [];
    for (let e = MiB; e < size; e += MiB) ends.push(e);
    ends.push(size);
    for (let s = 0; s < size; s += MiB) {
      for (const e of ends) {
        if (e <= s) continue;
        assert.equal(isTreeHashAligned(s, e, size), nodes.has(`${s}-${e}`), `size ${size}: [${s}, ${e})`);
      }
    }
  }
});

test('download alignment is tested in archive offsets and needs an aligned retrieval (DG four cases, 6.5 MiB example)', () => {
  const size = 6.5 * MiB;
  const whole = { start: 0, end: size - 1 };
  // whole retrieval + whole download; whole retrieval + aligned download
  assert.equal(downloadIsTreeHashAligned(whole, whole, size), true);
  assert.equal(downloadIsTreeHashAligned(whole, { start: 2 * MiB, end: 4 * MiB - 1 }, size), true);
  assert.equal(downloadIsTreeHashAligned(whole, { start: MiB, end: 3 * MiB - 1 }, size), false);
  // aligned retrieval [4 MiB, end) + whole download; + aligned download [4,6) MiB in archive offsets
  const tail = { start: 4 * MiB, end: size - 1 };
  assert.equal(downloadIsTreeHashAligned(tail, { start: 0, end: 2.5 * MiB - 1 }, size), true);
  assert.equal(downloadIsTreeHashAligned(tail, { start: 0, end: 2 * MiB - 1 }, size), true);
  assert.equal(downloadIsTreeHashAligned(tail, { start: 2 * MiB, end: 2.5 * MiB - 1 }, size), true);
  // [5,6) MiB of the archive is a leaf: aligned. [4.5, 5.5) is not.
  assert.equal(downloadIsTreeHashAligned(tail, { start: MiB, end: 2 * MiB - 1 }, size), true);
  assert.equal(downloadIsTreeHashAligned(tail, { start: MiB / 2, end: 1.5 * MiB - 1 }, size), false);
  // Unaligned retrieval 1–3 MiB: no checksum for any download, even a single leaf.
  const odd = { start: MiB, end: 3 * MiB - 1 };
  assert.equal(downloadIsTreeHashAligned(odd, { start: 0, end: 2 * MiB - 1 }, size), false);
  assert.equal(downloadIsTreeHashAligned(odd, { start: 0, end: MiB - 1 }, size), false);
});

test('range tree hashes from stored leaves equal the tree hash of the bytes (DG checksum-calculations vectors)', () => {
  assert.equal(treeHash(Buffer.alloc(2 * MiB)), '861890b487038d840e9d71d43bbc0fd4571453fb9d9b1f370caa3582a29b0ec7');
  const size = 5.5 * MiB;
  const zeros = Buffer.alloc(size);
  const h = new TreeHasher();
  h.update(zeros);
  const { leaves, treeHash: whole } = h.digest();
  assert.equal(whole, 'a3a82dbe3644dd6046be472f2e3ec1f8ef47f8f3adb86d0de4de7a254f255455');
  const data = Buffer.concat(Array.from({ length: 6 }, (_, i) => createHash('sha256').update(String(i)).digest()).map((d) => Buffer.concat(Array(MiB / 32).fill(d)))).subarray(0, size);
  const h2 = new TreeHasher();
  h2.update(data);
  const l2 = h2.digest().leaves;
  for (const [s, e] of [
    [0, size],
    [0, MiB],
    [4 * MiB, size],
    [5 * MiB, size],
    [2 * MiB, 4 * MiB],
    [0, 4 * MiB],
  ] as const) {
    assert.equal(rangeTreeHash(l2, s, e, size), treeHash(data.subarray(s, e)), `[${s}, ${e})`);
  }
  assert.equal(rangeTreeHash(leaves, MiB, 3 * MiB, size), null);
});
