import assert from 'node:assert/strict';
import type { SuiteContext } from '../metadata-suite.js';
import type { MetadataStore, NewJob, VaultRecord } from '../../../src/storage/metadata/types.js';
import { VaultGoneError } from '../../../src/storage/metadata/errors.js';
import { claim, inventoryJob, pend } from './fixtures.js';

/** Vaults (with tags, notifications, access policies, deletion, never-reused ids) and server state. */
export function vaultSection({ withStore }: SuiteContext): void {
  const key = (name: string, region = 'us-east-1', accountId = '111122223333') => ({ accountId, region, name });

  withStore('vault create is idempotent and keeps the first creation date', async (s) => {
    const a = await s.vaults.create(key('v1'), 1000, 10);
    assert.ok('vault' in a && a.created);
    const b = await s.vaults.create(key('v1'), 2000, 10);
    assert.ok('vault' in b && !b.created);
    assert.equal(b.vault.id, a.vault.id);
    assert.equal(b.vault.createdAt, 1000);
    assert.equal(b.vault.numberOfArchives, 0);
    assert.equal(b.vault.lastInventoryAt, null);
  });

  withStore('vault limit counts per account and region', async (s) => {
    assert.ok('vault' in (await s.vaults.create(key('a'), 1, 2)));
    assert.ok('vault' in (await s.vaults.create(key('b'), 1, 2)));
    assert.deepEqual(await s.vaults.create(key('c'), 1, 2), { limitExceeded: true });
    assert.ok('vault' in (await s.vaults.create(key('a'), 1, 2)), 'an existing vault is still returned at the limit');
    assert.ok('vault' in (await s.vaults.create(key('c', 'eu-west-1'), 1, 2)), 'other region, own limit');
    assert.ok('vault' in (await s.vaults.create(key('c', 'us-east-1', '999988887777'), 1, 2)), 'other account, own limit');
  });

  withStore('vaults are partitioned by account and region; get and getById agree', async (s) => {
    const r = await s.vaults.create(key('same'), 1, 10);
    await s.vaults.create(key('same', 'eu-west-1'), 1, 10);
    await s.vaults.create(key('same', 'us-east-1', '999988887777'), 1, 10);
    assert.ok('vault' in r);
    const got = await s.vaults.get(key('same'));
    assert.deepEqual(got, await s.vaults.getById(r.vault.id));
    assert.equal(got?.region, 'us-east-1');
    assert.equal(await s.vaults.get(key('other')), null);
    assert.equal(await s.vaults.getById(987654), null);
  });

  withStore('list is in ASCII (byte) order from an inclusive start, limited', async (s) => {
    for (const n of ['b', 'B', 'a', 'A', '_', '-', '0', 'a.b']) await s.vaults.create(key(n), 1, 100);
    await s.vaults.create(key('zz', 'eu-west-1'), 1, 100);
    const all = (await s.vaults.list('111122223333', 'us-east-1', null, 100)).map((v) => v.name);
    assert.deepEqual(all, ['-', '0', 'A', 'B', '_', 'a', 'a.b', 'b']);
    const from = (await s.vaults.list('111122223333', 'us-east-1', 'B', 3)).map((v) => v.name);
    assert.deepEqual(from, ['B', '_', 'a']);
  });

  withStore('delete removes the vault and its sub-resources', async (s) => {
    const r = await s.vaults.create(key('gone'), 1, 10);
    assert.ok('vault' in r);
    const id = r.vault.id;
    await s.vaults.addTags(id, { a: '1' }, 50);
    await s.vaults.setNotifications(id, { snsTopic: 'arn:aws:sns:us-east-1:111122223333:t', events: ['ArchiveRetrievalCompleted'] });
    await s.vaults.setAccessPolicy(id, '{}');
    assert.deepEqual(await s.vaults.delete(id, () => true, 2), { deleted: true });
    assert.equal(await s.vaults.get(key('gone')), null);
    assert.deepEqual(await s.vaults.delete(id, () => true, 3), { deleted: false, reason: 'not-found' });
    const again = await s.vaults.create(key('gone'), 5, 10);
    assert.ok('vault' in again);
    assert.deepEqual(await s.vaults.getTags(again.vault.id), {});
    assert.equal(await s.vaults.getNotifications(again.vault.id), null);
    assert.equal(await s.vaults.getAccessPolicy(again.vault.id), null);
  });

  const mustCreate = async (s: MetadataStore, k: ReturnType<typeof key>, now = 1): Promise<VaultRecord> => {
    const r = await s.vaults.create(k, now, 100);
    assert.ok('vault' in r);
    return r.vault;
  };
  const job = (vaultId: number, jobId: string, extra: Partial<NewJob> = {}): NewJob => inventoryJob(vaultId, jobId, { createdAt: 10, ...extra });
  const archive = (vaultId: number, archiveId: string, blobKey: string) => ({
    vaultId,
    archiveId,
    size: 5,
    treeHash: 'ab'.repeat(32),
    description: '',
    createdAt: 10,
    blobKey,
  });

  withStore('a deleted vault id is never given again, in the same account or another', async (s) => {
    const seen = new Set<number>();
    for (const [i, acct] of ['111122223333', '111122223333', '999988887777'].entries()) {
      const v = await mustCreate(s, key('v', 'us-east-1', acct), i);
      assert.ok(!seen.has(v.id), `vault id ${v.id} was given twice`);
      seen.add(v.id);
      assert.ok((await s.vaults.delete(v.id, () => true, i)).deleted);
    }
  });

  withStore('a job seq is never given again after its job is gone', async (s) => {
    const v = await mustCreate(s, key('j'));
    const a = await s.jobs.create(job(v.id, 'J1'), 1);
    assert.ok('job' in a);
    const [held] = await claim(s, 1);
    assert.ok((await s.vaults.delete(v.id, () => true, 2)).deleted);
    const w = await mustCreate(s, key('j'), 3);
    const b = await s.jobs.create(job(w.id, 'J2'), 4);
    assert.ok('job' in b);
    assert.ok(b.job.seq > a.job.seq);
    await claim(s, 4);
    assert.equal(await s.jobs.complete(held!, { status: 'Failed', statusMessage: 'x', completedAt: 5, expiresAt: 6 }), null);
    assert.equal((await s.jobs.getByJobId('J2'))?.status, 'InProgress', "the old job's completion must not land on the new one");
  });

  withStore('delete decides on the vault as it is in its own unit, not on what the caller read', async (s) => {
    const v = await mustCreate(s, key('race'));
    // The caller looked when the vault was empty; an archive was committed since.
    await pend(s, 'b' + '0'.repeat(32));
    await s.archives.create(archive(v.id, 'A'.repeat(138), 'b' + '0'.repeat(32)), Buffer.alloc(32));
    assert.deepEqual(await s.vaults.delete(v.id, (row) => row.numberOfArchives === 0, 20), { deleted: false, reason: 'not-deletable' });
    // Even a caller that trusts its stale record cannot orphan a live archive.
    assert.deepEqual(await s.vaults.delete(v.id, () => v.numberOfArchives === 0, 20), { deleted: false, reason: 'not-deletable' });
    assert.ok(await s.vaults.getById(v.id), 'a vault with a live archive is never deleted');
    assert.ok(await s.archives.get(v.id, 'A'.repeat(138)));
  });

  withStore('delete removes jobs, uploads, archive tombstones and releases their blobs (pinned archive blob, inventory output, parts)', async (s) => {
    const v = await mustCreate(s, key('full'));
    const blob = await pend(s, 'b' + '1'.repeat(32));
    const part = await pend(s, 'b' + '2'.repeat(32));
    const output = await pend(s, 'b' + '3'.repeat(32));
    const archiveId = 'B'.repeat(138);
    await s.archives.create(archive(v.id, archiveId, blob), Buffer.alloc(32));
    const retrieval = await s.jobs.create(job(v.id, 'JR', { action: 'ArchiveRetrieval', tier: 'Standard', inventory: null, archiveId, blobKey: blob, rangeStart: 0, rangeEnd: 4 }), 11);
    assert.ok('job' in retrieval);
    const [cr] = await claim(s, 11);
    const done = await s.jobs.complete(cr!, { status: 'Succeeded', statusMessage: 'ok', completedAt: 12, expiresAt: 99, pin: { archiveId, blobKey: blob } });
    assert.ok(done && done !== 'archive-gone' && done.blobRetained);
    const inventory = await s.jobs.create(job(v.id, 'JI'), 11);
    assert.ok('job' in inventory);
    const [ci] = await claim(s, 11);
    assert.ok(await s.jobs.complete(ci!, { status: 'Succeeded', statusMessage: 'ok', completedAt: 12, expiresAt: 99, outputKey: output, outputSize: 2 }));
    assert.ok('job' in (await s.jobs.create(job(v.id, 'JQ'), 1000)));
    await s.uploads.create({ uploadId: 'U1', vaultId: v.id, partSize: 1 << 20, description: null, now: 13 });
    assert.equal(await s.uploads.putPart('U1', { index: 0, size: 5, treeHash: 'cd'.repeat(32), blobKey: part }, Buffer.alloc(32), 14), 'ok');
    assert.equal(await s.archives.delete(v.id, archiveId, 15), 'deleted');

    const r = await s.vaults.delete(v.id, (row) => row.numberOfArchives === 0, 16);
    assert.deepEqual(r, { deleted: true });
    for (const id of ['JR', 'JI', 'JQ']) assert.equal(await s.jobs.getByJobId(id), null, `job ${id} outlived its vault`);
    assert.equal(await s.uploads.get('U1'), null);
    assert.equal(await s.jobs.getArchiveEvenDeleted(v.id, archiveId), null);
    assert.equal(await s.archives.getLeaves(archiveId), null);
    assert.deepEqual((await s.blobs.garbage(10)).sort(), [blob, part, output].sort(), 'the pinned archive blob, the inventory output and the part blob are garbage');
    assert.equal(await s.jobs.nextWakeAt(17), null, 'no queue entry or expiry is left');
    await assert.rejects(s.uploads.create({ uploadId: 'U2', vaultId: v.id, partSize: 1 << 20, description: null, now: 18 }), VaultGoneError);
  });

  withStore('jobs.create: a deleted vault gets no job and no ledger row; a rejection writes nothing', async (s) => {
    const v = await mustCreate(s, key('adm'));
    const request = { accountId: '111122223333', region: 'us-east-1', tier: 'Standard' as const, bytes: 100, now: 20, standardRateWindowMs: 1000, expeditedWindowMs: 1000 };
    let seen = -1;
    const admit = { request, decide: (snap: { standardBytesInRateWindow: number }) => ((seen = snap.standardBytesInRateWindow) + 100 > 150 ? 'over' : null) };
    assert.ok('job' in (await s.jobs.create(job(v.id, 'JA'), 21, admit)));
    assert.equal(seen, 0);
    assert.deepEqual(await s.jobs.create(job(v.id, 'JB'), 21, admit), { rejected: 'over' });
    assert.equal(seen, 100);
    assert.equal(await s.jobs.getByJobId('JB'), null);
    assert.ok((await s.vaults.delete(v.id, () => true, 22)).deleted);
    await assert.rejects(s.jobs.create(job(v.id, 'JC'), 23, { request, decide: () => null }), VaultGoneError);
    assert.equal(await s.jobs.getByJobId('JC'), null);
    // Only JA's retrieval is in the ledger.
    assert.equal(await s.settings.admitRetrieval(request, (snap) => snap.standardBytesInRateWindow), 100);
  });

  withStore('tags: overwrite, limit is all-or-nothing, remove is idempotent', async (s) => {
    const r = await s.vaults.create(key('t'), 1, 10);
    assert.ok('vault' in r);
    const id = r.vault.id;
    assert.equal(await s.vaults.addTags(id, { a: '1', b: '2' }, 3), true);
    assert.equal(await s.vaults.addTags(id, { a: 'x' }, 3), true);
    assert.equal(await s.vaults.addTags(id, { c: '3', d: '4' }, 3), false);
    assert.deepEqual(await s.vaults.getTags(id), { a: 'x', b: '2' });
    assert.equal(await s.vaults.addTags(id, { c: '3', a: 'y' }, 3), true);
    await s.vaults.removeTags(id, ['a', 'missing']);
    await s.vaults.removeTags(id, ['a']);
    assert.deepEqual(await s.vaults.getTags(id), { b: '2', c: '3' });
  });

  withStore('notifications and access policy: set overwrites, delete is idempotent, text is byte-exact', async (s) => {
    const r = await s.vaults.create(key('n'), 1, 10);
    assert.ok('vault' in r);
    const id = r.vault.id;
    await s.vaults.setNotifications(id, { snsTopic: 't1', events: ['ArchiveRetrievalCompleted'] });
    await s.vaults.setNotifications(id, { snsTopic: 't2', events: ['InventoryRetrievalCompleted', 'ArchiveRetrievalCompleted'] });
    assert.deepEqual(await s.vaults.getNotifications(id), { snsTopic: 't2', events: ['InventoryRetrievalCompleted', 'ArchiveRetrievalCompleted'] });
    await s.vaults.deleteNotifications(id);
    await s.vaults.deleteNotifications(id);
    assert.equal(await s.vaults.getNotifications(id), null);
    const text = '{ "Version" : "2012-10-17",\n "Statement": [] , "ü": "\\u00fc" }';
    await s.vaults.setAccessPolicy(id, '{}');
    await s.vaults.setAccessPolicy(id, text);
    assert.equal(await s.vaults.getAccessPolicy(id), text);
    await s.vaults.deleteAccessPolicy(id);
    await s.vaults.deleteAccessPolicy(id);
    assert.equal(await s.vaults.getAccessPolicy(id), null);
  });

  withStore('server state: get of a missing key is null, put overwrites', async (s) => {
    assert.equal(await s.state.get('clock.offsetMs'), null);
    await s.state.put('clock.offsetMs', '1000');
    await s.state.put('clock.offsetMs', '2000');
    assert.equal(await s.state.get('clock.offsetMs'), '2000');
  });
}
