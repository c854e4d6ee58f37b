import assert from 'node:assert/strict';
import type { SuiteContext } from '../metadata-suite.js';
import type { JobOutcome, MetadataStore } from '../../../src/storage/metadata/types.js';
import { describeJobJson } from '../../../src/domain/jobs.js';
import { archiveJob, createJob, DAY, garbage, inventoryJob, leaves, makeArchive, makeVault } from './fixtures.js';

const LEASE = 60_000;

const succeeded = (completedAt: number, o: Partial<JobOutcome> = {}): JobOutcome => ({
  status: 'Succeeded',
  statusMessage: 'Succeeded',
  completedAt,
  expiresAt: completedAt + DAY,
  ...o,
});

/** Claims everything due at `now` and returns the job ids claimed. */
async function claimIds(s: MetadataStore, now: number, worker = 'w1', batch = 10): Promise<string[]> {
  return (await s.jobs.claimDue(now, worker, LEASE, batch)).map((c) => c.job.jobId).sort();
}

/** Jobs: creation, listing, the queue (claims, leases, retries), completion, expiry. */
export function jobSection({ withStore }: SuiteContext): void {
  withStore('job create: InProgress with a creation-ordered seq; get is per vault and hides expired jobs', async (s) => {
    const v = await makeVault(s);
    const other = await makeVault(s, 'other');
    const j1 = await createJob(s, inventoryJob(v, 'J1', { description: 'first', snsTopic: 'arn:t' }), 5000);
    const j2 = await createJob(s, inventoryJob(v, 'J2', { inventory: { format: 'CSV', startDate: '2026-01-01T00:00:00Z', endDate: null, limit: '5', marker: 'M' } }), 5000);
    assert.ok(j2.seq > j1.seq);
    assert.equal(j1.status, 'InProgress');
    assert.equal(j1.completedAt, null);
    assert.equal(j1.expiresAt, null);
    assert.equal(j1.blobRetained, false);
    assert.deepEqual(j1, { ...inventoryJob(v, 'J1', { description: 'first', snsTopic: 'arn:t' }), seq: j1.seq, status: 'InProgress', statusMessage: j1.statusMessage, completedAt: null, outputSize: null, outputKey: null, blobRetained: false, expiresAt: null, nextMarker: null });
    assert.deepEqual(await s.jobs.get(v, 'J2', 1000), j2);
    assert.deepEqual(await s.jobs.getByJobId('J2'), j2);
    assert.equal(await s.jobs.get(other, 'J2', 1000), null, "another vault's job");
    assert.equal(await s.jobs.getByJobId('nope'), null);
  });

  withStore('job list: creation order, marker, status and completed filters; expired jobs are gone', async (s) => {
    const v = await makeVault(s);
    const other = await makeVault(s, 'other');
    for (const id of ['J1', 'J2', 'J3', 'J4']) await createJob(s, inventoryJob(v, id), 1000);
    await createJob(s, inventoryJob(other, 'JX'), 1000);
    const claimed = await s.jobs.claimDue(1000, 'w', LEASE, 10);
    const seqOf = (id: string) => claimed.find((c) => c.job.jobId === id)!.job.seq;
    await s.jobs.complete(seqOf('J2'), succeeded(2000));
    await s.jobs.complete(seqOf('J3'), { ...succeeded(2000), status: 'Failed', statusMessage: 'nope' });
    await s.jobs.complete(seqOf('J4'), succeeded(500, { expiresAt: 1500 }));
    const list = async (o: Partial<Parameters<typeof s.jobs.list>[1]>) => {
      const r = await s.jobs.list(v, { afterJobId: null, status: null, completed: null, limit: 10, now: 3000, ...o });
      return { ids: r.jobs.map((j) => j.jobId), markerFound: r.markerFound };
    };
    assert.deepEqual(await list({}), { ids: ['J1', 'J2', 'J3'], markerFound: true }, 'J4 expired at 1500');
    assert.deepEqual(await list({ now: 1000 }), { ids: ['J1', 'J2', 'J3', 'J4'], markerFound: true });
    assert.deepEqual(await list({ limit: 2 }), { ids: ['J1', 'J2'], markerFound: true });
    assert.deepEqual(await list({ afterJobId: 'J1' }), { ids: ['J2', 'J3'], markerFound: true });
    assert.deepEqual(await list({ afterJobId: 'JX' }), { ids: [], markerFound: false }, "another vault's job is no marker");
    assert.deepEqual(await list({ afterJobId: 'nope' }), { ids: [], markerFound: false });
    assert.deepEqual((await list({ status: 'Succeeded' })).ids, ['J2']);
    assert.deepEqual((await list({ status: 'InProgress' })).ids, ['J1']);
    assert.deepEqual((await list({ completed: true })).ids, ['J2', 'J3']);
    assert.deepEqual((await list({ completed: false })).ids, ['J1']);
    assert.equal(await s.jobs.get(v, 'J4', 1500), null, 'expired at expiresAt');
    assert.notEqual(await s.jobs.get(v, 'J4', 1499), null);
  });

  withStore('claimDue: only due, unclaimed entries, oldest first, in batches; a lapsed lease is claimed again', async (s) => {
    const v = await makeVault(s);
    const a = await createJob(s, inventoryJob(v, 'JA'), 2000);
    await createJob(s, inventoryJob(v, 'JB'), 1000);
    await createJob(s, inventoryJob(v, 'JC'), 10 * LEASE);
    assert.deepEqual(await claimIds(s, 999), []);
    assert.deepEqual(await claimIds(s, 2000, 'w1', 1), ['JB']);
    const second = await s.jobs.claimDue(2000, 'w2', LEASE, 10);
    assert.deepEqual(second, [{ job: a, attempts: 1 }]);
    assert.deepEqual(await claimIds(s, 2000 + LEASE - 1), [], 'leased entries are not claimed by another worker');
    const lapsed = await s.jobs.claimDue(2000 + LEASE, 'w3', LEASE, 10);
    assert.deepEqual(lapsed.map((c) => [c.job.jobId, c.attempts]).sort(), [
      ['JA', 2],
      ['JB', 2],
    ]);
    assert.deepEqual(await claimIds(s, 10 * LEASE), ['JA', 'JB', 'JC']);
  });

  withStore('complete: once only; the row, the dequeue, leaves and notifications in one unit', async (s) => {
    const v = await makeVault(s);
    await s.vaults.setNotifications(v, { snsTopic: 'arn:vault-topic', events: ['InventoryRetrievalCompleted'] });
    const job = await createJob(s, inventoryJob(v, 'J1', { snsTopic: 'arn:job-topic' }), 1000);
    const [c] = await s.jobs.claimDue(1000, 'w', LEASE, 1);
    const done = await s.jobs.complete(c!.job.seq, succeeded(2000, { outputSize: 42, outputKey: 'out-J1', nextMarker: 'NEXT' }));
    assert.ok(done && done !== 'archive-gone');
    assert.deepEqual(done, { ...job, status: 'Succeeded', statusMessage: 'Succeeded', completedAt: 2000, expiresAt: 2000 + DAY, outputSize: 42, outputKey: 'out-J1', nextMarker: 'NEXT' });
    assert.deepEqual(await s.jobs.getByJobId('J1'), done);
    assert.equal(await s.jobs.complete(c!.job.seq, succeeded(3000)), null, 'a second completion changes nothing');
    assert.equal((await s.jobs.getByJobId('J1'))?.completedAt, 2000);
    assert.deepEqual(await claimIds(s, 10 * DAY), [], 'dequeued');
    // Both the job's topic and the vault's (configured for this event) get the DescribeJob JSON.
    const rows = await s.outbox.claimDue(2000, 10, LEASE);
    assert.deepEqual(rows.map((r) => r.topicArn).sort(), ['arn:job-topic', 'arn:vault-topic']);
    assert.deepEqual(JSON.parse(rows[0]!.message), describeJobJson(done));
    assert.equal(rows[0]!.createdAt, 2000);
  });

  withStore('complete: a vault notification for another event sends nothing; no topic, no outbox row', async (s) => {
    const v = await makeVault(s);
    await s.vaults.setNotifications(v, { snsTopic: 'arn:vault-topic', events: ['ArchiveRetrievalCompleted'] });
    await createJob(s, inventoryJob(v, 'J1'), 1000);
    const [c] = await s.jobs.claimDue(1000, 'w', LEASE, 1);
    await s.jobs.complete(c!.job.seq, succeeded(2000));
    assert.equal(await s.outbox.pendingCount(), 0);
  });

  withStore('archive retrieval: complete pins the blob for the output window; expiry releases it', async (s) => {
    const v = await makeVault(s);
    const a = await makeArchive(s, v, 'A1');
    await createJob(s, archiveJob(v, 'J1', a), 1000);
    const [c] = await s.jobs.claimDue(1000, 'w', LEASE, 1);
    const done = await s.jobs.complete(c!.job.seq, succeeded(2000, { treeHash: 'cd'.repeat(32), pin: { archiveId: 'A1', blobKey: a.blobKey }, leaves: { firstLeaf: 0, packed: leaves(1, 9) } }));
    assert.ok(done && done !== 'archive-gone');
    assert.equal(done.blobRetained, true);
    assert.equal(done.treeHash, 'cd'.repeat(32));
    assert.deepEqual(await s.jobs.getLeaves(done.seq), { firstLeaf: 0, packed: leaves(1, 9) });
    await s.archives.delete(v, 'A1', 3000);
    assert.deepEqual(await garbage(s), [], 'the job still holds the blob');
    assert.deepEqual(await s.jobs.getArchiveEvenDeleted(v, 'A1'), a);
    assert.equal(await s.jobs.getArchiveEvenDeleted(v, 'nope'), null);
    assert.equal(await s.jobs.nextWakeAt(3000), 2000 + DAY);
    assert.deepEqual(await s.jobs.expire(2000 + DAY - 1, 10), []);
    const expired = await s.jobs.expire(2000 + DAY, 10);
    assert.deepEqual(expired.map((j) => j.jobId), ['J1']);
    assert.equal(await s.jobs.getByJobId('J1'), null);
    assert.equal(await s.jobs.getLeaves(done.seq), null);
    assert.deepEqual(await garbage(s), [a.blobKey]);
    assert.equal(await s.jobs.nextWakeAt(3000), null);
  });

  withStore('archive retrieval: complete reports archive-gone (changing nothing) when the archive was deleted', async (s) => {
    const v = await makeVault(s);
    const a = await makeArchive(s, v, 'A1');
    await createJob(s, archiveJob(v, 'J1', a), 1000);
    const [c] = await s.jobs.claimDue(1000, 'w', LEASE, 1);
    await s.archives.delete(v, 'A1', 1500);
    assert.equal(await s.jobs.complete(c!.job.seq, succeeded(2000, { pin: { archiveId: 'A1', blobKey: a.blobKey } })), 'archive-gone');
    assert.equal((await s.jobs.getByJobId('J1'))?.status, 'InProgress');
    assert.deepEqual(await garbage(s), [a.blobKey]);
    const failed = await s.jobs.complete(c!.job.seq, { ...succeeded(2000), status: 'Failed', statusMessage: 'archive deleted' });
    assert.ok(failed && failed !== 'archive-gone');
    assert.equal(failed.status, 'Failed');
    assert.equal(failed.blobRetained, false);
  });

  withStore('retry, makeDue, releaseAllClaims and nextWakeAt move queue entries as documented', async (s) => {
    const v = await makeVault(s);
    const j = await createJob(s, inventoryJob(v, 'J1'), 1000);
    assert.equal(await s.jobs.nextWakeAt(0), 1000);
    await s.jobs.claimDue(1000, 'w', LEASE, 1);
    assert.equal(await s.jobs.nextWakeAt(1000), 1000 + LEASE, 'a claimed entry wakes when its lease lapses');
    await s.jobs.retry(j.seq, 5000, 'boom');
    assert.deepEqual(await claimIds(s, 4999), []);
    const again = await s.jobs.claimDue(5000, 'w', LEASE, 1);
    assert.deepEqual(again.map((c) => c.attempts), [2]);
    await s.jobs.releaseAllClaims();
    assert.deepEqual(await claimIds(s, 5000), ['J1'], 'released claims are claimable at once');
    await s.jobs.retry(j.seq, 90_000, 'boom');
    assert.equal(await s.jobs.makeDue(j.seq, 6000), true);
    assert.deepEqual(await claimIds(s, 6000), ['J1']);
    await s.jobs.complete(j.seq, succeeded(7000));
    assert.equal(await s.jobs.makeDue(j.seq, 8000), false, 'not queued any more');
  });

  withStore('expire honours its batch and keeps jobs that have not expired', async (s) => {
    const v = await makeVault(s);
    for (const id of ['J1', 'J2', 'J3']) await createJob(s, inventoryJob(v, id), 1000);
    const claimed = await s.jobs.claimDue(1000, 'w', LEASE, 10);
    for (const c of claimed) await s.jobs.complete(c.job.seq, succeeded(1000, { expiresAt: c.job.jobId === 'J3' ? 9000 : 2000 }));
    assert.equal((await s.jobs.expire(2000, 1)).length, 1);
    assert.equal((await s.jobs.expire(2000, 10)).length, 1);
    assert.deepEqual(await s.jobs.expire(2000, 10), []);
    assert.notEqual(await s.jobs.getByJobId('J3'), null);
  });

  withStore('inventory as of a date and daily snapshots', async (s) => {
    const v = await makeVault(s);
    const idle = await makeVault(s, 'idle');
    for (const [id, t] of [['a', 100], ['b', 200], ['c', 300]] as const) await makeArchive(s, v, id, { createdAt: t, size: 10 });
    await s.archives.delete(v, 'a', 250);
    const asOf = async (t: number, o: Partial<Parameters<typeof s.jobs.listArchivesAsOf>[2]> = {}) =>
      (await s.jobs.listArchivesAsOf(v, t, { limit: 10, ...o })).map((a) => a.archiveId);
    assert.deepEqual(await asOf(200), ['a', 'b'], 'created by then, deleted after');
    assert.deepEqual(await asOf(250), ['b'], 'deleted at asOf is gone');
    assert.deepEqual(await asOf(400), ['b', 'c']);
    assert.deepEqual(await asOf(200, { after: { createdAt: 100, archiveId: 'a' } }), ['b']);
    assert.deepEqual(await asOf(400, { startDate: 300 }), ['c']);
    assert.deepEqual(await asOf(400, { endDate: 300 }), ['b']);
    assert.deepEqual(await asOf(200, { limit: 1 }), ['a']);

    // First snapshot once the first upload is `cadence` old; none for a vault never written.
    assert.equal(await s.jobs.takeInventorySnapshots(100 + DAY - 1, DAY), 0);
    assert.equal(await s.jobs.takeInventorySnapshots(100 + DAY, DAY), 1);
    const snap = await s.vaults.getById(v);
    assert.equal(snap?.lastInventoryAt, 100 + DAY);
    assert.equal(snap?.inventoryNumberOfArchives, 2);
    assert.equal(snap?.inventorySizeInBytes, 20);
    assert.equal((await s.vaults.getById(idle))?.lastInventoryAt, null);
    assert.equal(await s.jobs.takeInventorySnapshots(100 + 3 * DAY, DAY), 0, 'no write since the last snapshot');
    await makeArchive(s, v, 'd', { createdAt: 100 + 3 * DAY, size: 5 });
    assert.equal(await s.jobs.takeInventorySnapshots(100 + 3 * DAY + 1, DAY), 1, 'written since, and the last snapshot is a cadence old');
    assert.equal((await s.vaults.getById(v))?.inventoryNumberOfArchives, 3);
  });
}
