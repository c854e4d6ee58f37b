import assert from 'node:assert/strict';
import type { SuiteContext } from '../metadata-suite.js';
import { VaultGoneError } from '../../../src/storage/metadata/errors.js';
import { archiveRecord, FAR, garbage, leaves, makeArchive, makeVault, pend } from './fixtures.js';

/** Archives with their leaves and vault counters, and the blob references they hold. */
export function archiveSection({ withStore }: SuiteContext): void {
  withStore('archive create: the row, its leaves, the vault counters and one blob reference in one unit', async (s) => {
    const v = await makeVault(s, 'v', 500);
    const other = await makeVault(s, 'other', 500);
    const a = archiveRecord(v, 'A1', { size: 3 * 1024 * 1024, createdAt: 2000 });
    const l = leaves(3, 7);
    await pend(s, a.blobKey);
    await s.archives.create(a, l);
    assert.deepEqual(await s.archives.get(v, 'A1'), a);
    assert.equal(await s.archives.get(other, 'A1'), null, 'an archive is found only through its own vault');
    assert.deepEqual(await s.archives.getLeaves('A1'), l);
    assert.equal(await s.archives.getLeaves('nope'), null);
    await makeArchive(s, v, 'A2', { size: 5, createdAt: 3000 });
    const vault = await s.vaults.getById(v);
    assert.equal(vault?.numberOfArchives, 2);
    assert.equal(vault?.sizeInBytes, 3 * 1024 * 1024 + 5);
    assert.equal(vault?.lastWriteAt, 3000);
    assert.equal((await s.vaults.getById(other))?.numberOfArchives, 0);
    assert.equal(await s.blobs.known(a.blobKey), true);
    assert.equal(await s.blobs.known('blob-unknown'), false);
    assert.deepEqual(await garbage(s), []);
  });

  withStore('archive create into a deleted vault fails and stores nothing', async (s) => {
    const v = await makeVault(s, 'gone');
    assert.ok((await s.vaults.delete(v, () => true, 1500)).deleted);
    await pend(s, 'blob-A1');
    await assert.rejects(s.archives.create(archiveRecord(v, 'A1'), leaves(1)), VaultGoneError);
    assert.equal(await s.archives.getLeaves('A1'), null);
    assert.equal(await s.blobs.reapExpiredPending(FAR + 1, 10), 1, 'the blob is still pending (the caller discards it)');
    assert.deepEqual(await garbage(s), ['blob-A1']);
  });

  withStore('archive delete: tombstones once, updates the counters and releases the blob', async (s) => {
    const v = await makeVault(s);
    const other = await makeVault(s, 'other');
    await makeArchive(s, v, 'A1', { size: 10 });
    await makeArchive(s, v, 'A2', { size: 20 });
    assert.equal(await s.archives.delete(other, 'A1', 4000), 'not-found', "another vault's archive");
    assert.equal(await s.archives.delete(v, 'nope', 4000), 'not-found');
    assert.equal(await s.archives.delete(v, 'A1', 4000), 'deleted');
    assert.equal(await s.archives.delete(v, 'A1', 4001), 'already-deleted');
    assert.equal(await s.archives.get(v, 'A1'), null);
    const vault = await s.vaults.getById(v);
    assert.equal(vault?.numberOfArchives, 1);
    assert.equal(vault?.sizeInBytes, 20);
    assert.equal(vault?.lastWriteAt, 4000);
    assert.deepEqual(await garbage(s), ['blob-A1']);
    assert.equal(await s.blobs.known('blob-A1'), true, 'queued garbage is still known (the collector has not run)');
    await s.blobs.forget(['blob-A1']);
    assert.deepEqual(await garbage(s), []);
    assert.equal(await s.blobs.known('blob-A1'), false);
  });

  withStore('archive list: live archives in (createdAt, archiveId) order, date filters, cursor, limit', async (s) => {
    const v = await makeVault(s);
    const other = await makeVault(s, 'other');
    for (const [id, t] of [['b', 100], ['a', 100], ['c', 200], ['d', 300], ['e', 400]] as const) await makeArchive(s, v, id, { createdAt: t });
    await makeArchive(s, other, 'x', { createdAt: 150 });
    await s.archives.delete(v, 'c', 500);
    const ids = async (o: Parameters<typeof s.archives.list>[1]) => (await s.archives.list(v, o)).map((a) => a.archiveId);
    assert.deepEqual(await ids({ limit: 10 }), ['a', 'b', 'd', 'e']);
    assert.deepEqual(await ids({ limit: 2 }), ['a', 'b']);
    assert.deepEqual(await ids({ limit: 10, after: { createdAt: 100, archiveId: 'a' } }), ['b', 'd', 'e']);
    assert.deepEqual(await ids({ limit: 10, startDate: 300 }), ['d', 'e'], 'startDate is inclusive');
    assert.deepEqual(await ids({ limit: 10, endDate: 300 }), ['a', 'b'], 'endDate is exclusive');
    assert.deepEqual(await ids({ limit: 10, startDate: 100, endDate: 400, after: { createdAt: 100, archiveId: 'b' } }), ['d']);
  });

  withStore('blob references: an extra reference keeps the blob after its archive is deleted', async (s) => {
    const v = await makeVault(s);
    await makeArchive(s, v, 'A1');
    await s.blobs.retain('blob-A1');
    await s.archives.delete(v, 'A1', 2000);
    assert.deepEqual(await garbage(s), [], 'one reference is left');
    await s.blobs.release('blob-A1');
    assert.deepEqual(await garbage(s), ['blob-A1']);
  });

  withStore('blob discard: a stored blob nobody references is queued for collection, oldest first', async (s) => {
    await s.blobs.discard('orphan-2', 2000);
    await s.blobs.discard('orphan-1', 1000);
    await s.blobs.discard('orphan-1', 3000);
    assert.equal(await s.blobs.known('orphan-1'), true);
    assert.deepEqual(await s.blobs.garbage(10), ['orphan-1', 'orphan-2']);
    assert.deepEqual(await s.blobs.garbage(1), ['orphan-1']);
    await s.blobs.forget(['orphan-1', 'orphan-2']);
    assert.deepEqual(await s.blobs.garbage(10), []);
  });
}
