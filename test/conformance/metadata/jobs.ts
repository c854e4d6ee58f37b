import assert from 'node:assert/strict';
import type { SuiteContext } from '../metadata-suite.js';
import type { JobOutcome, MetadataStore } from '../../../src/storage/metadata/types.js';
import { BlobLeaseLostError } from '../../../src/storage/metadata/errors.js';
import { archiveJob, claim, claimOf, countSignals, createJob, DAY, garbage, inventoryJob, isLive, leaves, makeArchive, makeVault, pend } from './fixtures.js';

const LEASE = 60_000;
const HOUR = 3_600_000;
/** A reap time after every lease these tests give (FAR is the fixtures' never-lapsing lease). */
const FAR_AFTER = 2e15;

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
    const claimOfJob = (id: string) => claimOf(claimed.find((c) => c.job.jobId === id)!, 'w');
    await s.jobs.complete(claimOfJob('J2'), succeeded(2000));
    await s.jobs.complete(claimOfJob('J3'), { ...succeeded(2000), status: 'Failed', statusMessage: 'nope' });
    await s.jobs.complete(claimOfJob('J4'), succeeded(500, { expiresAt: 1500 }));
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

  withStore('complete: once only; the row, the dequeue, the output blob and the given notifications in one unit', async (s) => {
    const v = await makeVault(s);
    // Vault notification settings are the caller's business now: the store writes exactly the rows it is given.
    await s.vaults.setNotifications(v, { snsTopic: 'arn:vault-topic', events: ['InventoryRetrievalCompleted'] });
    const job = await createJob(s, inventoryJob(v, 'J1', { snsTopic: 'arn:job-topic' }), 1000);
    const [c] = await claim(s, 1000);
    await pend(s, 'out-J1');
    const notifications = [
      { topicArn: 'arn:one', message: '{"first":"message"}' },
      { topicArn: 'arn:two', message: 'any text, byte-exact: ✓' },
    ];
    const done = await s.jobs.complete(c!, succeeded(2000, { outputSize: 42, outputKey: 'out-J1', nextMarker: 'NEXT', notifications }));
    assert.ok(done && done !== 'archive-gone');
    assert.deepEqual(done, { ...job, status: 'Succeeded', statusMessage: 'Succeeded', completedAt: 2000, expiresAt: 2000 + DAY, outputSize: 42, outputKey: 'out-J1', nextMarker: 'NEXT' });
    assert.deepEqual(await s.jobs.getByJobId('J1'), done);
    assert.equal(await s.jobs.complete(c!, succeeded(3000, { notifications })), null, 'a second completion changes nothing');
    assert.equal((await s.jobs.getByJobId('J1'))?.completedAt, 2000);
    assert.deepEqual(await claimIds(s, 10 * DAY), [], 'dequeued');
    const rows = (await s.outbox.claimDue(2000, 10, LEASE)).sort((a, b) => a.topicArn.localeCompare(b.topicArn));
    assert.deepEqual(
      rows.map((r) => ({ topicArn: r.topicArn, message: r.message, createdAt: r.createdAt, attempts: r.attempts, lastError: r.lastError, deliveredAt: r.deliveredAt })),
      notifications.map((n) => ({ ...n, createdAt: 2000, attempts: 1, lastError: null, deliveredAt: null })),
      'exactly the given rows, created and due at completedAt, nothing from the vault settings or the job topic',
    );
    assert.equal(await s.outbox.pendingCount(), 2);
  });

  withStore('complete without notifications writes no outbox row, whatever the vault and job topics', async (s) => {
    const v = await makeVault(s);
    await s.vaults.setNotifications(v, { snsTopic: 'arn:vault-topic', events: ['InventoryRetrievalCompleted'] });
    await createJob(s, inventoryJob(v, 'J1', { snsTopic: 'arn:job-topic' }), 1000);
    await createJob(s, inventoryJob(v, 'J2'), 1000);
    const [c1, c2] = await claim(s, 1000);
    await s.jobs.complete(c1!, succeeded(2000));
    await s.jobs.complete(c2!, succeeded(2000, { notifications: [] }));
    assert.equal(await s.outbox.pendingCount(), 0);
  });

  withStore('archive retrieval: complete pins the blob for the output window; expiry releases it', async (s) => {
    const v = await makeVault(s);
    const a = await makeArchive(s, v, 'A1');
    await createJob(s, archiveJob(v, 'J1', a), 1000);
    const [c] = await claim(s, 1000);
    const done = await s.jobs.complete(c!, succeeded(2000, { treeHash: 'cd'.repeat(32), pin: { archiveId: 'A1', blobKey: a.blobKey }, leaves: { firstLeaf: 0, packed: leaves(1, 9) } }));
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
    const [c] = await claim(s, 1000);
    await s.archives.delete(v, 'A1', 1500);
    assert.equal(await s.jobs.complete(c!, succeeded(2000, { pin: { archiveId: 'A1', blobKey: a.blobKey }, notifications: [{ topicArn: 't', message: 'm' }] })), 'archive-gone');
    assert.equal((await s.jobs.getByJobId('J1'))?.status, 'InProgress');
    assert.deepEqual(await garbage(s), [a.blobKey]);
    assert.equal(await s.outbox.pendingCount(), 0, 'archive-gone writes no notification');
    const failed = await s.jobs.complete(c!, { ...succeeded(2000), status: 'Failed', statusMessage: 'archive deleted' });
    assert.ok(failed && failed !== 'archive-gone');
    assert.equal(failed.status, 'Failed');
    assert.equal(failed.blobRetained, false);
  });

  withStore('retry, makeDue, releaseAllClaims and nextWakeAt move queue entries as documented', async (s) => {
    const v = await makeVault(s);
    const j = await createJob(s, inventoryJob(v, 'J1'), 1000);
    assert.equal(await s.jobs.nextWakeAt(0), 1000);
    const [c1] = await claim(s, 1000);
    assert.equal(await s.jobs.nextWakeAt(1000), 1000 + LEASE, 'a claimed entry wakes when its lease lapses');
    assert.equal(await s.jobs.retry(c1!, 5000, 'boom'), true);
    assert.equal(await s.jobs.retry(c1!, 6000, 'again'), false, 'the claim ended with the retry');
    assert.deepEqual(await claimIds(s, 4999), []);
    const again = await s.jobs.claimDue(5000, 'w', LEASE, 1);
    assert.deepEqual(again.map((c) => c.attempts), [2]);
    await s.jobs.releaseAllClaims();
    const [c3] = await claim(s, 5000);
    assert.deepEqual(c3, { seq: j.seq, workerId: 'w', attempts: 3 }, 'released claims are claimable at once');
    assert.equal(await s.jobs.retry(c3!, 90_000, 'boom'), true);
    assert.equal(await s.jobs.makeDue(j.seq, 6000), true);
    const [c4] = await claim(s, 6000);
    assert.equal(c4?.attempts, 4);
    assert.notEqual(await s.jobs.complete(c4!, succeeded(7000)), null);
    assert.equal(await s.jobs.makeDue(j.seq, 8000), false, 'not queued any more');
    assert.equal(await s.jobs.retry(c4!, 9000, 'late'), false, 'a completed job cannot be retried');
  });

  withStore('complete and retry with a stale claim (another worker took the job after the lease lapsed) return null / false and change nothing', async (s) => {
    const v = await makeVault(s);
    await createJob(s, inventoryJob(v, 'J1'), 1000);
    const [old] = await claim(s, 1000, 'w1');
    const [taken] = await claim(s, 1000 + LEASE, 'w2');
    assert.deepEqual(taken, { seq: old!.seq, workerId: 'w2', attempts: 2 });
    await pend(s, 'out-stale');
    assert.equal(await s.jobs.complete(old!, succeeded(2000, { outputKey: 'out-stale', outputSize: 3, notifications: [{ topicArn: 't', message: 'm' }] })), null);
    assert.equal(await s.jobs.retry(old!, 5000, 'stale'), false);
    const row = await s.jobs.getByJobId('J1');
    assert.equal(row?.status, 'InProgress');
    assert.equal(row?.outputKey, null);
    assert.equal(await s.outbox.pendingCount(), 0);
    assert.deepEqual(await garbage(s), []);
    assert.equal(await isLive(s, 'out-stale'), false, 'the stale attempt’s output did not turn live');
    // The stale retry did not release w2's claim: nobody else can take the job.
    assert.deepEqual(await claimIds(s, 1000 + 2 * LEASE - 1, 'w3'), []);
    // The same worker re-claiming its own job is a new attempt: the older claim is stale too.
    await s.jobs.releaseAllClaims();
    const [mine] = await claim(s, 2000, 'w2');
    assert.equal(mine?.attempts, 3);
    assert.equal(await s.jobs.complete(taken!, succeeded(2000)), null, 'same worker, older attempt');
    assert.equal(await s.jobs.retry(taken!, 5000, 'older attempt'), false);
    const done = await s.jobs.complete(mine!, succeeded(2000));
    assert.ok(done && done !== 'archive-gone');
    assert.equal(done.status, 'Succeeded');
  });

  withStore('a claim whose lease lapsed but that nobody took over still completes (the claim, not the clock, decides)', async (s) => {
    const v = await makeVault(s);
    await createJob(s, inventoryJob(v, 'J1'), 1000);
    const [c] = await claim(s, 1000, 'w1');
    const done = await s.jobs.complete(c!, succeeded(1000 + 10 * LEASE));
    assert.ok(done && done !== 'archive-gone');
  });

  withStore('renewClaims extends every lease of that worker only, and keeps them from lapsing', async (s) => {
    const v = await makeVault(s);
    for (const id of ['J1', 'J2', 'J3']) await createJob(s, inventoryJob(v, id), 1000);
    const mine = await claim(s, 1000, 'w1', LEASE, 2);
    const [theirs] = await claim(s, 1000, 'w2', LEASE, 1);
    assert.equal(await s.jobs.renewClaims('w1', 1000 + 5 * LEASE), 2);
    assert.equal(await s.jobs.renewClaims('nobody', 1000 + 5 * LEASE), 0);
    assert.equal(await s.jobs.nextWakeAt(1000), 1000 + LEASE, "w2's lease is unchanged");
    const taken = await claim(s, 1000 + LEASE, 'w3');
    assert.deepEqual(taken, [{ ...theirs!, workerId: 'w3', attempts: 2 }], "only w2's unrenewed entry lapsed");
    assert.deepEqual(await claimIds(s, 1000 + 2 * LEASE - 1, 'w4'), [], 'renewed entries stay held past their first lease end (J3 is w3’s now)');
    for (const c of mine) assert.notEqual(await s.jobs.complete(c, succeeded(1000 + 4 * LEASE)), null, 'the renewed claims still complete');
    assert.equal(await s.jobs.renewClaims('w1', 1000 + 9 * LEASE), 0, 'completed entries hold no lease');
  });

  withStore('inventory output: a pending blob turns live at complete, held by the job; expiry releases it', async (s) => {
    const v = await makeVault(s);
    await createJob(s, inventoryJob(v, 'J1'), 1000);
    await createJob(s, inventoryJob(v, 'J2'), 1000);
    const [c1, c2] = await claim(s, 1000);
    await pend(s, 'out-1');
    await pend(s, 'out-2');
    const done = await s.jobs.complete(c1!, succeeded(2000, { outputKey: 'out-1', outputSize: 10 }));
    assert.ok(done && done !== 'archive-gone');
    assert.equal(done.outputKey, 'out-1');
    assert.equal(done.outputSize, 10);
    assert.equal(done.blobRetained, false, 'blobRetained is about a pinned archive blob');
    assert.equal(await s.blobs.reapExpiredPending(FAR_AFTER, 100), 1, 'out-1 is not pending any more; out-2 still is');
    assert.deepEqual(await garbage(s), ['out-2']);
    await s.blobs.forget(['out-2']);
    assert.equal(await s.blobs.known('out-1'), true);
    // Live and held by the job: a release by someone else would be the last one.
    await s.blobs.retain('out-1');
    await s.blobs.release('out-1');
    assert.deepEqual(await garbage(s), []);
    assert.deepEqual((await s.jobs.expire(2000 + DAY, 10)).map((j) => j.jobId), ['J1']);
    assert.deepEqual(await garbage(s), ['out-1'], 'released with the job');
    // A lost output lease: the completing unit refuses and writes nothing.
    assert.equal(await s.jobs.complete(c2!, succeeded(3000, { outputKey: 'out-2', outputSize: 5, notifications: [{ topicArn: 't', message: 'm' }] })).catch((e: unknown) => e instanceof BlobLeaseLostError && e.blobKey === 'out-2'), true);
    assert.equal((await s.jobs.getByJobId('J2'))?.status, 'InProgress');
    assert.equal(await s.outbox.pendingCount(), 0);
    assert.deepEqual(await claimIds(s, 1000 + LEASE, 'w2'), ['J2'], 'still queued');
  });

  withStore('a failed attempt’s output does not block the next attempt’s: each attempt writes its own blob', async (s) => {
    const v = await makeVault(s);
    await createJob(s, inventoryJob(v, 'J1'), 1000);
    const [c1] = await claim(s, 1000, 'w1');
    await pend(s, 'out-attempt-1');
    const [c2] = await claim(s, 1000 + LEASE, 'w2');
    await pend(s, 'out-attempt-2');
    assert.equal(await s.jobs.complete(c1!, succeeded(2000, { outputKey: 'out-attempt-1', outputSize: 1 })), null);
    const done = await s.jobs.complete(c2!, succeeded(2000, { outputKey: 'out-attempt-2', outputSize: 2 }));
    assert.ok(done && done !== 'archive-gone');
    assert.equal(done.outputKey, 'out-attempt-2');
    await s.blobs.discard('out-attempt-1', 2000);
    assert.deepEqual(await garbage(s), ['out-attempt-1'], 'the stale attempt discards its own blob');
  });

  withStore('signals: jobs.create, retry, makeDue → jobs; outbox.enqueue and complete with notifications → outbox', async (s) => {
    const v = await makeVault(s);
    const jobs = await countSignals(s, 'jobs');
    const outbox = await countSignals(s, 'outbox');
    try {
      const j = await createJob(s, inventoryJob(v, 'J1'), 1000);
      await jobs.reach(1);
      const [c1] = await claim(s, 1000);
      assert.equal(await s.jobs.retry(c1!, 2000, 'boom'), true);
      await jobs.reach(2);
      assert.equal(await s.jobs.makeDue(j.seq, 1500), true);
      await jobs.reach(3);
      await s.outbox.enqueue([{ topicArn: 't', message: 'a' }, { topicArn: 't', message: 'b' }], 1000);
      await outbox.reach(1);
      const [c2] = await claim(s, 1500);
      await s.jobs.complete(c2!, succeeded(2000, { notifications: [{ topicArn: 't', message: 'done' }] }));
      await outbox.reach(2);
      // Barriers: one more signal on each channel, so that a signal nothing should have sent
      // (claimDue, a complete without notifications) would have arrived before it.
      await createJob(s, inventoryJob(v, 'J2'), 1000);
      await jobs.reach(4);
      await s.outbox.enqueue([{ topicArn: 't', message: 'c' }], 1000);
      await outbox.reach(3);
      assert.equal(jobs.count, 4, 'claimDue and complete do not signal jobs');
      assert.equal(outbox.count, 3);
    } finally {
      await jobs.stop();
      await outbox.stop();
    }
  });

  withStore('signals: nothing for a rejected create, a refused retry or makeDue, a complete without notifications, an empty enqueue; none after unlisten', async (s) => {
    const v = await makeVault(s);
    const jobs = await countSignals(s, 'jobs');
    const outbox = await countSignals(s, 'outbox');
    const late = await countSignals(s, 'jobs');
    await late.stop();
    try {
      await createJob(s, inventoryJob(v, 'J1'), 1000);
      await jobs.reach(1);
      const request = { accountId: '111122223333', region: 'us-east-1', tier: 'Standard' as const, bytes: 1, now: 1000, standardRateWindowMs: HOUR, expeditedWindowMs: 300_000 };
      assert.deepEqual(await s.jobs.create(inventoryJob(v, 'J-rejected'), 1000, { request, decide: () => 'no' }), { rejected: 'no' });
      const [c] = await claim(s, 1000, 'w1');
      assert.equal(await s.jobs.retry({ ...c!, workerId: 'other' }, 2000, 'stale'), false);
      assert.equal(await s.jobs.makeDue(999_999, 1000), false);
      await s.jobs.complete(c!, succeeded(2000));
      await s.outbox.enqueue([], 1000);
      // Barriers, as above.
      await s.jobs.makeDue((await createJob(s, inventoryJob(v, 'J2'), 1000)).seq, 1000);
      await jobs.reach(3);
      await s.outbox.enqueue([{ topicArn: 't', message: 'barrier' }], 1000);
      await outbox.reach(1);
      assert.equal(jobs.count, 3, 'J1, J2 created and J2 made due; nothing else');
      assert.equal(outbox.count, 1, 'only the barrier');
      assert.equal(late.count, 0, 'an unlistened function is not called');
    } finally {
      await jobs.stop();
      await outbox.stop();
    }
  });

  withStore('expire honours its batch and keeps jobs that have not expired', async (s) => {
    const v = await makeVault(s);
    for (const id of ['J1', 'J2', 'J3']) await createJob(s, inventoryJob(v, id), 1000);
    const claimed = await s.jobs.claimDue(1000, 'w', LEASE, 10);
    for (const c of claimed) await s.jobs.complete(claimOf(c, 'w'), succeeded(1000, { expiresAt: c.job.jobId === 'J3' ? 9000 : 2000 }));
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
