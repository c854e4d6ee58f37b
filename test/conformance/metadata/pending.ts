import assert from 'node:assert/strict';
import type { SuiteContext } from '../metadata-suite.js';
import type { MetadataStore } from '../../../src/storage/metadata/types.js';
import { BlobLeaseLostError } from '../../../src/storage/metadata/errors.js';
import { archiveRecord, FAR, garbage, leaves, makeArchive, makeVault, pend } from './fixtures.js';

/** After every lease these tests give. */
const AFTER_ALL = FAR + 1;

/** Resolves to the error's blob key when `p` rejects with BlobLeaseLostError; fails otherwise. */
async function leaseLost(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof BlobLeaseLostError, `expected BlobLeaseLostError, got ${String(e)}`);
    return e.blobKey;
  }
  assert.fail('expected BlobLeaseLostError, but the call succeeded');
}

async function vaultFigures(s: MetadataStore, id: number) {
  const v = await s.vaults.getById(id);
  return { numberOfArchives: v?.numberOfArchives, sizeInBytes: v?.sizeInBytes, lastWriteAt: v?.lastWriteAt };
}

/**
 * Pending blobs (BlobRepo: begin, renewPending, reapExpiredPending, known, discard) and the units
 * that turn them live. Lease ends are compared strictly: a lease ending at T has lapsed for
 * `reapExpiredPending(now)` only when T < now.
 */
export function pendingSection({ withStore }: SuiteContext): void {
  withStore('pending blob: begin makes it known but not garbage; archives.create turns it live (no longer pending)', async (s) => {
    const v = await makeVault(s);
    await pend(s, 'blob-A1', 5000);
    assert.equal(await s.blobs.known('blob-A1'), true);
    assert.deepEqual(await garbage(s), []);
    await s.archives.create(archiveRecord(v, 'A1'), leaves(1));
    assert.equal(await s.blobs.reapExpiredPending(AFTER_ALL, 10), 0, 'a committed blob is not pending any more, whatever its lease was');
    assert.deepEqual(await garbage(s), []);
    assert.equal(await s.blobs.known('blob-A1'), true);
    await s.archives.delete(v, 'A1', 6000);
    assert.deepEqual(await garbage(s), ['blob-A1'], 'live with exactly one reference, held by the archive');
  });

  withStore('beginDeferred: known at once, like begin; `durable` resolves; the blob then behaves as one begun with begin (reaped when its lease lapses, turned live by archives.create)', async (s) => {
    const v = await makeVault(s);
    const { durable } = await s.blobs.beginDeferred('blob-D1', 'writer-1', 5000);
    assert.equal(await s.blobs.known('blob-D1'), true, 'recorded before durable resolves');
    await durable;
    const second = await s.blobs.beginDeferred('blob-D2', 'writer-1', 2000);
    await second.durable;
    assert.equal(await s.blobs.renewPending('writer-1', 3000), 2);
    assert.equal(await s.blobs.reapExpiredPending(3001, 10), 2);
    assert.deepEqual(await garbage(s), ['blob-D1', 'blob-D2']);
    const third = await s.blobs.beginDeferred('blob-D3', 'writer-1', 5000);
    await third.durable;
    await s.archives.create(archiveRecord(v, 'D3', { blobKey: 'blob-D3' }), leaves(1));
    assert.equal(await s.blobs.reapExpiredPending(AFTER_ALL, 10), 0);
    assert.equal((await s.archives.get(v, 'D3'))?.blobKey, 'blob-D3');
  });

  withStore('archives.create after its pending blob was reaped: BlobLeaseLostError, nothing written, counters unchanged', async (s) => {
    const v = await makeVault(s);
    await makeArchive(s, v, 'A0', { size: 7, createdAt: 1500 });
    const before = await vaultFigures(s, v);
    assert.deepEqual(before, { numberOfArchives: 1, sizeInBytes: 7, lastWriteAt: 1500 });
    await pend(s, 'blob-A1', 2000);
    assert.equal(await s.blobs.reapExpiredPending(2001, 10), 1);
    assert.equal(await leaseLost(s.archives.create(archiveRecord(v, 'A1', { size: 50, createdAt: 3000 }), leaves(2))), 'blob-A1');
    assert.equal(await s.archives.get(v, 'A1'), null);
    assert.equal(await s.archives.getLeaves('A1'), null);
    assert.deepEqual((await s.archives.list(v, { limit: 10 })).map((a) => a.archiveId), ['A0']);
    assert.deepEqual(await vaultFigures(s, v), before);
    assert.deepEqual(await garbage(s), ['blob-A1'], 'still garbage, for the collector');
    await s.blobs.forget(['blob-A1']);
    assert.equal(await s.blobs.known('blob-A1'), false, 'no live row was written');
    // A key that was never begun is not pending either.
    assert.equal(await leaseLost(s.archives.create(archiveRecord(v, 'A2', { blobKey: 'never-begun' }), leaves(1))), 'never-begun');
    assert.equal(await s.blobs.known('never-begun'), false);
    assert.deepEqual(await vaultFigures(s, v), before);
  });

  withStore('a pending blob whose lease lapsed but was not reaped yet can still be committed', async (s) => {
    const v = await makeVault(s);
    await pend(s, 'blob-A1', 2000);
    await s.archives.create(archiveRecord(v, 'A1', { createdAt: 9000 }), leaves(1));
    assert.equal(await s.blobs.reapExpiredPending(AFTER_ALL, 10), 0);
    assert.notEqual(await s.archives.get(v, 'A1'), null);
  });

  withStore('renewPending extends the lease of every pending blob of that owner only, and returns how many', async (s) => {
    const v = await makeVault(s);
    await pend(s, 'a', 1000, 'o1');
    await pend(s, 'b', 1000, 'o1');
    await pend(s, 'c', 1000, 'o2');
    await pend(s, 'blob-A1', 1000, 'o1');
    await s.archives.create(archiveRecord(v, 'A1'), leaves(1));
    assert.equal(await s.blobs.renewPending('o1', 5000), 2, 'a and b; the committed blob is not pending');
    assert.equal(await s.blobs.renewPending('nobody', 5000), 0);
    assert.equal(await s.blobs.reapExpiredPending(3000, 10), 1);
    assert.deepEqual(await garbage(s), ['c'], "o2's blob lapsed; o1's were renewed");
    assert.equal(await s.blobs.reapExpiredPending(5000, 10), 0, 'a lease ending at now has not lapsed');
    assert.equal(await s.blobs.reapExpiredPending(5001, 10), 2);
    assert.deepEqual(await garbage(s), ['a', 'b', 'c']);
    assert.equal(await s.blobs.renewPending('o1', 9000), 0, 'reaped blobs are not pending any more');
  });

  withStore('reapExpiredPending: only leases that ended before now, earliest lease end first, at most limit; returns how many', async (s) => {
    // Begun in the order x1, x2, x3, x4; leases end in the order x2, x3, x1, x4.
    await pend(s, 'x1', 300, 'o1');
    await pend(s, 'x2', 100, 'o2');
    await pend(s, 'x3', 200, 'o1');
    await pend(s, 'x4', 1000, 'o3');
    assert.equal(await s.blobs.reapExpiredPending(100, 10), 0);
    assert.equal(await s.blobs.reapExpiredPending(1000, 2), 2);
    assert.deepEqual(await garbage(s), ['x2', 'x3']);
    assert.equal(await s.blobs.known('x1'), true);
    assert.equal(await s.blobs.reapExpiredPending(1000, 2), 1);
    assert.deepEqual(await garbage(s), ['x1', 'x2', 'x3']);
    assert.equal(await s.blobs.reapExpiredPending(1000, 2), 0, 'x4 has not lapsed');
    assert.equal(await s.blobs.reapExpiredPending(Number.MAX_SAFE_INTEGER, 100), 1, 'exclusive start-up reaps whatever is left');
    assert.deepEqual(await garbage(s), ['x1', 'x2', 'x3', 'x4']);
  });

  withStore('discard: a pending or never-recorded blob becomes garbage (once); a live blob is left alone', async (s) => {
    const v = await makeVault(s);
    await pend(s, 'p', FAR);
    await s.blobs.discard('p', 2000);
    await s.blobs.discard('never', 1000);
    await s.blobs.discard('p', 3000);
    assert.deepEqual(await s.blobs.garbage(10), ['never', 'p'], 'oldest first, each once');
    assert.equal(await s.blobs.reapExpiredPending(AFTER_ALL, 10), 0, 'a discarded blob is not pending any more');
    assert.equal(await leaseLost(s.archives.create(archiveRecord(v, 'AP', { blobKey: 'p' }), leaves(1))), 'p', 'nor can it be committed');
    const a = await makeArchive(s, v, 'A1');
    await s.blobs.discard(a.blobKey, 4000);
    assert.deepEqual(await s.blobs.garbage(10), ['never', 'p'], 'the live blob is not garbage');
    assert.notEqual(await s.archives.get(v, 'A1'), null);
    await s.archives.delete(v, 'A1', 5000);
    assert.deepEqual(await s.blobs.garbage(10), ['never', 'p', a.blobKey], 'its one reference is released once');
  });

  withStore('known: pending, live and garbage blobs are known; forgotten and never-begun ones are not', async (s) => {
    const v = await makeVault(s);
    await pend(s, 'pending');
    const a = await makeArchive(s, v, 'A1');
    await s.blobs.discard('dropped', 1000);
    for (const k of ['pending', a.blobKey, 'dropped']) assert.equal(await s.blobs.known(k), true, k);
    await s.blobs.forget(['dropped']);
    for (const k of ['dropped', 'never']) assert.equal(await s.blobs.known(k), false, k);
  });

  withStore('putPart after its blob was reaped: BlobLeaseLostError; the part it would replace, its blob and the activity time are unchanged', async (s) => {
    const v = await makeVault(s);
    await s.uploads.create({ uploadId: 'U', vaultId: v, partSize: 1024 * 1024, description: null, now: 1000 });
    const first = { index: 0, size: 10, treeHash: 'aa'.repeat(32), blobKey: 'part-a' };
    await pend(s, 'part-a');
    assert.equal(await s.uploads.putPart('U', first, leaves(1, 1), 1100), 'ok');
    await pend(s, 'part-b', 1500);
    assert.equal(await s.blobs.reapExpiredPending(1501, 10), 1);
    assert.equal(await leaseLost(s.uploads.putPart('U', { ...first, treeHash: 'bb'.repeat(32), blobKey: 'part-b' }, leaves(1, 2), 1600)), 'part-b');
    assert.deepEqual(await s.uploads.allParts('U'), [first]);
    assert.deepEqual(await s.uploads.partLeaves('U'), [leaves(1, 1)]);
    assert.equal((await s.uploads.get('U'))?.lastActivityAt, 1100);
    assert.deepEqual(await garbage(s), ['part-b'], 'the replaced part’s blob was not released');
  });

  withStore('putPart on a finished upload turns its pending blob into garbage (not pending any more)', async (s) => {
    const v = await makeVault(s);
    await s.uploads.create({ uploadId: 'U', vaultId: v, partSize: 1024 * 1024, description: null, now: 1000 });
    await s.uploads.abort('U', 1500);
    await pend(s, 'part-late');
    assert.equal(await s.uploads.putPart('U', { index: 0, size: 1, treeHash: 'aa'.repeat(32), blobKey: 'part-late' }, leaves(1), 1600), 'not-active');
    assert.deepEqual(await garbage(s), ['part-late']);
    assert.equal(await s.blobs.reapExpiredPending(AFTER_ALL, 10), 0);
  });

  withStore('uploads.complete after its manifest was reaped: BlobLeaseLostError; upload, parts, archive and counters unchanged; a retry with a new manifest completes', async (s) => {
    const v = await makeVault(s);
    await s.uploads.create({ uploadId: 'U', vaultId: v, partSize: 1024 * 1024, description: null, now: 1000 });
    const p = { index: 0, size: 10, treeHash: 'aa'.repeat(32), blobKey: 'part-a' };
    await pend(s, 'part-a');
    await s.uploads.putPart('U', p, leaves(1), 1100);
    await pend(s, 'manifest-1', 1200);
    assert.equal(await s.blobs.reapExpiredPending(1201, 10), 1);
    assert.equal(await leaseLost(s.uploads.complete('U', archiveRecord(v, 'A1', { blobKey: 'manifest-1', size: 10 }), ['part-a'], 1300)), 'manifest-1');
    assert.equal((await s.uploads.get('U'))?.state, 'active');
    assert.deepEqual(await s.uploads.allParts('U'), [p]);
    assert.equal(await s.archives.get(v, 'A1'), null);
    assert.deepEqual(await vaultFigures(s, v), { numberOfArchives: 0, sizeInBytes: 0, lastWriteAt: null });
    assert.deepEqual(await garbage(s), ['manifest-1'], 'the part blob was not handed over or released');
    await pend(s, 'manifest-2');
    assert.equal(await s.uploads.complete('U', archiveRecord(v, 'A1', { blobKey: 'manifest-2', size: 10 }), ['part-a'], 1400), 'ok');
    await s.archives.delete(v, 'A1', 1500);
    assert.deepEqual(await garbage(s), ['manifest-1', 'manifest-2', 'part-a']);
  });
}
