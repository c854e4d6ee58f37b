import assert from 'node:assert/strict';
import type { SuiteContext } from '../metadata-suite.js';
import type { ArchiveRecord, MetadataStore, PartRecord } from '../../../src/storage/metadata/types.js';
import { archiveRecord, garbage, leaves, makeVault, pend } from './fixtures.js';

const MiB = 1024 * 1024;

const part = (index: number, tag = 'a', size = MiB): PartRecord => ({ index, size, treeHash: `${tag}${index}`.padEnd(64, '0'), blobKey: `part-${tag}-${index}` });

/** putPart of a freshly begun blob, as the ingest path does. */
async function putPart(s: MetadataStore, uploadId: string, p: PartRecord, l: Buffer, now: number) {
  await pend(s, p.blobKey);
  return s.uploads.putPart(uploadId, p, l, now);
}

/** complete with the manifest begun first. */
async function complete(s: MetadataStore, uploadId: string, a: ArchiveRecord, partKeys: string[], now: number) {
  await pend(s, a.blobKey);
  return s.uploads.complete(uploadId, a, partKeys, now);
}

async function upload(s: MetadataStore, vaultId: number, uploadId: string, now = 1000) {
  await s.uploads.create({ uploadId, vaultId, partSize: MiB, description: null, now });
}

/** Multipart uploads: parts, Complete (a manifest over the parts' blobs), abort, expiry. */
export function uploadSection({ withStore }: SuiteContext): void {
  withStore('upload create and get; listActive by id from an inclusive start, only recently active', async (s) => {
    const v = await makeVault(s);
    const other = await makeVault(s, 'other');
    await s.uploads.create({ uploadId: 'U2', vaultId: v, partSize: MiB, description: 'two', now: 2000 });
    await upload(s, v, 'U1', 1000);
    await upload(s, v, 'U3', 3000);
    await upload(s, other, 'U0', 3000);
    assert.deepEqual(await s.uploads.get('U2'), {
      uploadId: 'U2',
      vaultId: v,
      partSize: MiB,
      description: 'two',
      createdAt: 2000,
      lastActivityAt: 2000,
      state: 'active',
      finishedAt: null,
      archiveId: null,
      archiveSize: null,
      treeHash: null,
    });
    assert.equal((await s.uploads.get('U1'))?.description, null);
    assert.equal(await s.uploads.get('nope'), null);
    const ids = async (from: string | null, since: number, limit = 10) => (await s.uploads.listActive(v, from, since, limit)).map((u) => u.uploadId);
    assert.deepEqual(await ids(null, 0), ['U1', 'U2', 'U3']);
    assert.deepEqual(await ids('U2', 0), ['U2', 'U3']);
    assert.deepEqual(await ids(null, 0, 1), ['U1']);
    assert.deepEqual(await ids(null, 2000), ['U2', 'U3'], 'activity at or after activeSince');
    await s.uploads.abort('U3', 4000);
    assert.deepEqual(await ids(null, 0), ['U1', 'U2'], 'only active uploads');
  });

  withStore('putPart: records and touches; a re-upload of a range replaces it and releases the old blob', async (s) => {
    const v = await makeVault(s);
    await upload(s, v, 'U', 1000);
    assert.equal(await putPart(s, 'U', part(1), leaves(1, 1), 1500), 'ok');
    assert.equal(await putPart(s, 'U', part(0), leaves(1, 2), 1600), 'ok');
    assert.equal((await s.uploads.get('U'))?.lastActivityAt, 1600);
    assert.equal(await putPart(s, 'U', part(1, 'b'), leaves(1, 3), 1200), 'ok');
    assert.equal((await s.uploads.get('U'))?.lastActivityAt, 1600, 'activity never moves back');
    assert.deepEqual(await s.uploads.allParts('U'), [part(0), part(1, 'b')]);
    assert.deepEqual(await s.uploads.listParts('U', 1, 10), [part(1, 'b')]);
    assert.deepEqual(await s.uploads.listParts('U', 0, 1), [part(0)]);
    assert.deepEqual(await s.uploads.partLeaves('U'), [leaves(1, 2), leaves(1, 3)]);
    assert.deepEqual(await garbage(s), ['part-a-1']);
    assert.equal(await s.blobs.known('part-b-1'), true);
    assert.deepEqual(await s.uploads.allParts('nope'), []);
  });

  withStore('putPart on a finished upload stores nothing and queues the new blob as garbage', async (s) => {
    const v = await makeVault(s);
    await upload(s, v, 'U');
    await s.uploads.abort('U', 2000);
    assert.equal(await putPart(s, 'U', part(0), leaves(1), 2100), 'not-active');
    assert.equal(await putPart(s, 'never', part(0, 'n'), leaves(1), 2100), 'not-active');
    assert.deepEqual(await s.uploads.allParts('U'), []);
    assert.deepEqual(await garbage(s), ['part-a-0', 'part-n-0']);
  });

  withStore('complete: the archive (with the parts’ leaves) over a manifest that holds the parts’ blobs', async (s) => {
    const v = await makeVault(s);
    await upload(s, v, 'U');
    await putPart(s, 'U', part(0), leaves(1, 1), 1100);
    await putPart(s, 'U', part(1, 'a', 10), leaves(1, 2), 1200);
    const a = archiveRecord(v, 'A1', { size: MiB + 10, blobKey: 'manifest-1', createdAt: 1300 });
    assert.equal(await complete(s, 'U', a, ['part-a-0', 'part-a-1'], 1300), 'ok');
    assert.deepEqual(await s.archives.get(v, 'A1'), a);
    assert.deepEqual(await s.archives.getLeaves('A1'), Buffer.concat([leaves(1, 1), leaves(1, 2)]));
    const u = await s.uploads.get('U');
    assert.equal(u?.state, 'completed');
    assert.equal(u?.finishedAt, 1300);
    assert.equal(u?.archiveId, 'A1');
    assert.equal(u?.archiveSize, MiB + 10);
    assert.equal(u?.treeHash, a.treeHash);
    const vault = await s.vaults.getById(v);
    assert.equal(vault?.numberOfArchives, 1);
    assert.equal(vault?.sizeInBytes, MiB + 10);
    assert.deepEqual(await garbage(s), []);
    assert.equal(await complete(s, 'U', archiveRecord(v, 'A2', { blobKey: 'manifest-2' }), ['part-a-0', 'part-a-1'], 1400), 'not-active');
    assert.equal(await s.archives.get(v, 'A2'), null);
    assert.deepEqual(await garbage(s), ['manifest-2'], "a losing Complete's manifest is garbage");
    await s.blobs.forget(['manifest-2']);
    // Deleting the archive releases the manifest and with it every part's blob.
    await s.archives.delete(v, 'A1', 5000);
    assert.deepEqual(await garbage(s), ['manifest-1', 'part-a-0', 'part-a-1']);
  });

  withStore('complete refuses when the parts changed since they were read', async (s) => {
    const v = await makeVault(s);
    await upload(s, v, 'U');
    await putPart(s, 'U', part(0), leaves(1), 1100);
    const seen = (await s.uploads.allParts('U')).map((p) => p.blobKey);
    await putPart(s, 'U', part(0, 'b'), leaves(1), 1200);
    assert.equal(await complete(s, 'U', archiveRecord(v, 'A1', { blobKey: 'manifest-1' }), seen, 1300), 'parts-changed');
    assert.equal(await complete(s, 'U', archiveRecord(v, 'A1', { blobKey: 'manifest-2' }), ['part-b-0', 'part-x-1'], 1300), 'parts-changed');
    assert.equal((await s.uploads.get('U'))?.state, 'active');
    assert.equal(await s.archives.get(v, 'A1'), null);
    assert.equal((await s.vaults.getById(v))?.numberOfArchives, 0);
    assert.deepEqual(await garbage(s), ['manifest-1', 'manifest-2', 'part-a-0']);
  });

  withStore('abort releases the parts; expireIdle expires only idle active uploads; purgeFinished forgets', async (s) => {
    const v = await makeVault(s);
    await upload(s, v, 'A', 1000);
    await upload(s, v, 'B', 1000);
    await upload(s, v, 'C', 1000);
    await putPart(s, 'A', part(0, 'A'), leaves(1), 1000);
    await putPart(s, 'B', part(0, 'B'), leaves(1), 1000);
    await putPart(s, 'C', part(0, 'C'), leaves(1), 5000);
    assert.equal(await s.uploads.abort('A', 2000), 'aborted');
    assert.equal(await s.uploads.abort('A', 2001), 'not-active');
    assert.equal(await s.uploads.abort('nope', 2001), 'not-active');
    assert.deepEqual(await s.uploads.allParts('A'), []);
    assert.deepEqual(await garbage(s), ['part-A-0']);
    assert.equal(await s.uploads.expireIdle(3000, 6000, 10), 1, 'B: idle since 1000; C was active at 5000; A is finished');
    assert.equal((await s.uploads.get('B'))?.state, 'expired');
    assert.equal((await s.uploads.get('B'))?.finishedAt, 6000);
    assert.equal((await s.uploads.get('C'))?.state, 'active');
    assert.deepEqual(await garbage(s), ['part-A-0', 'part-B-0']);
    assert.equal(await s.uploads.purgeFinished(2001), 1, 'A finished at 2000; B at 6000');
    assert.equal(await s.uploads.get('A'), null);
    assert.notEqual(await s.uploads.get('B'), null);
    assert.notEqual(await s.uploads.get('C'), null, 'an active upload is never purged');
  });

  withStore('expireIdle honours its limit', async (s) => {
    const v = await makeVault(s);
    for (const id of ['U1', 'U2', 'U3']) await upload(s, v, id, 1000);
    assert.equal(await s.uploads.expireIdle(2000, 3000, 2), 2);
    assert.equal(await s.uploads.expireIdle(2000, 3000, 2), 1);
    assert.equal(await s.uploads.expireIdle(2000, 3000, 2), 0);
  });
}
