import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SuiteContext } from '../metadata-suite.js';
import { race } from './race.js';
import { claim, countSignals, createJob, garbage, inventoryJob, leaves, makeArchive, makeVault, pend } from './fixtures.js';

/** Every element once across the racers' results, and together exactly `all`. */
function partitions<T>(results: T[][], all: T[]): void {
  const flat = results.flat();
  assert.equal(new Set(flat).size, flat.length, `something was won twice: ${JSON.stringify(results)}`);
  assert.deepEqual([...flat].sort(), [...all].sort());
}

/**
 * Two handles on one database, racing. Each racer runs in its own worker thread with its own
 * handle (connection or pool), so the units of work really interleave; the checks are the
 * invariants each atomic unit promises whatever the interleaving.
 */
export function concurrencySection({ backend, withDatabase }: SuiteContext): void {
  const N = 25;

  test(`[${backend.name}] race: handles opening a fresh database at once agree on its schema`, async () => {
    const ref = await backend.createDatabase();
    await race(backend, ref, 'open', null, 3);
    const s = await backend.open(ref);
    try {
      for (const me of [0, 1, 2]) assert.equal(await s.state.get(`racer-${me}`), 'here');
    } finally {
      await s.close();
    }
  });

  test(`[${backend.name}] signals reach listeners on every handle of the database`, { skip: !backend.crossHandleSignals && 'signals are in-process for this backend' }, async () => {
    const ref = await backend.createDatabase();
    const writer = await backend.open(ref);
    const reader = await backend.open(ref);
    const jobs = await countSignals(reader, 'jobs');
    const outbox = await countSignals(reader, 'outbox');
    try {
      const v = await makeVault(writer);
      const j = await createJob(writer, inventoryJob(v, 'J1'), 1000);
      await jobs.reach(1);
      const [c] = await claim(writer, 1000);
      assert.equal(await writer.jobs.retry(c!, 2000, 'boom'), true);
      await jobs.reach(2);
      assert.equal(await writer.jobs.makeDue(j.seq, 1000), true);
      await jobs.reach(3);
      await writer.outbox.enqueue([{ topicArn: 't', message: 'm' }], 1000);
      await outbox.reach(1);
      const [c2] = await claim(writer, 1000);
      await writer.jobs.complete(c2!, { status: 'Succeeded', statusMessage: 'Succeeded', completedAt: 1000, expiresAt: 2000, notifications: [{ topicArn: 't', message: 'done' }] });
      await outbox.reach(2);
    } finally {
      await jobs.stop();
      await outbox.stop();
      await reader.close();
      await writer.close();
    }
  });

  withDatabase('race: two workers claiming the same due jobs never claim one twice', async (ref, s) => {
    const v = await makeVault(s);
    const seqs: number[] = [];
    for (let i = 0; i < 2 * N; i++) seqs.push((await createJob(s, inventoryJob(v, `J${i}`), 1000)).seq);
    partitions(await race(backend, ref, 'claimJobs', { now: 1000 }), seqs);
  });

  withDatabase('race: a job is completed once, with one notification', async (ref, s) => {
    const v = await makeVault(s);
    for (let i = 0; i < N; i++) await createJob(s, inventoryJob(v, `J${i}`, { snsTopic: 'arn:topic' }), 1000);
    const seqs = (await s.jobs.claimDue(1000, 'setup', 60_000, N)).map((c) => c.job.seq);
    const won = await race(backend, ref, 'completeJobs', { seqs, workerId: 'setup', now: 2000 });
    partitions(won, seqs);
    const rows = await s.outbox.claimDue(2000, 10 * N, 60_000);
    assert.deepEqual(rows.map((r) => r.message).sort(), won.flatMap((ids, me) => ids.map((seq) => `${seq} by ${me}`)).sort(), "exactly the winner's notification per job");
  });

  withDatabase('race: a stale claim completing while another worker reclaims the job: exactly one completion per job, with its output and notification only', async (ref, s) => {
    const v = await makeVault(s);
    for (let i = 0; i < N; i++) await createJob(s, inventoryJob(v, `J${i}`), 1000);
    const seqs = (await s.jobs.claimDue(1000, 'w-old', 60_000, N)).map((c) => c.job.seq);
    for (const seq of seqs) for (const me of [0, 1]) await pend(s, `out-${seq}-${me}`);
    const won = await race(backend, ref, 'completeOrReclaim', { seqs, now: 1000 + 60_000 });
    partitions(won, seqs);
    for (const [me, ids] of won.entries()) {
      for (const seq of ids) {
        const j = (await s.jobs.list(v, { afterJobId: null, status: null, completed: null, limit: 10 * N, now: 0 })).jobs.find((x) => x.seq === seq);
        assert.equal(j?.statusMessage, `by ${me}`, `job ${seq}`);
        assert.equal(j?.outputKey, `out-${seq}-${me}`);
      }
    }
    const rows = await s.outbox.claimDue(2_000_000, 10 * N, 60_000);
    assert.deepEqual(rows.map((r) => r.message).sort(), won.flatMap((ids, me) => ids.map((seq) => `${seq} by ${me}`)).sort());
    assert.deepEqual(await s.jobs.claimDue(10_000_000, 'w-check', 60_000, 10), [], 'every job left the queue');
    // The losers' outputs are still pending (their writers discard them); the winners' are live.
    assert.equal(await s.blobs.reapExpiredPending(2e15, 10 * N), N);
    assert.deepEqual(await garbage(s), won.flatMap((ids, me) => ids.map((seq) => `out-${seq}-${1 - me}`)).sort());
  });

  withDatabase('race: reaping a lapsed pending blob while its archive commits: either the archive is live over a live blob, or BlobLeaseLostError and the blob is garbage', async (ref, s) => {
    const v = await makeVault(s);
    const ids: string[] = [];
    for (let i = 0; i < 2 * N; i++) {
      const id = `A${String(i).padStart(2, '0')}`;
      await pend(s, `blob-${id}`, 500);
      ids.push(id);
    }
    const [writer, reaper] = await race(backend, ref, 'reapOrCommit', { vaultId: v, ids, now: 1000 });
    partitions([writer!.committed, writer!.lost], ids);
    assert.equal(reaper!.reaped, writer!.lost.length, 'every refused commit was reaped, and nothing else');
    assert.deepEqual(await garbage(s), writer!.lost.map((id) => `blob-${id}`).sort());
    assert.deepEqual((await s.archives.list(v, { limit: 10 * N })).map((a) => a.archiveId).sort(), [...writer!.committed].sort());
    const vault = await s.vaults.getById(v);
    assert.equal(vault?.numberOfArchives, writer!.committed.length);
    assert.equal(vault?.sizeInBytes, 3 * writer!.committed.length);
    assert.equal(await s.blobs.reapExpiredPending(2e15, 10 * N), 0, 'nothing is left pending');
    // Each committed archive holds exactly one reference on its blob.
    for (const id of writer!.committed) await s.archives.delete(v, id, 2000);
    assert.deepEqual(await garbage(s), ids.map((id) => `blob-${id}`).sort());
  });

  withDatabase('race: vault counters stay exact under concurrent archive creates and deletes', async (ref, s) => {
    const v = await makeVault(s);
    await race(backend, ref, 'addAndDeleteArchives', { vaultId: v, n: N });
    // Each racer keeps the odd sizes 1, 3, …, 25.
    const kept = Array.from({ length: N }, (_, i) => i + 1).filter((i) => i % 2 === 1);
    const vault = await s.vaults.getById(v);
    assert.equal(vault?.numberOfArchives, 2 * kept.length);
    assert.equal(vault?.sizeInBytes, 2 * kept.reduce((a, b) => a + b, 0));
    assert.equal((await s.archives.list(v, { limit: 1000 })).length, 2 * kept.length);
  });

  withDatabase('race: an archive is deleted once; counters and blob garbage count it once', async (ref, s) => {
    const v = await makeVault(s);
    const ids: string[] = [];
    for (let i = 0; i < N; i++) ids.push((await makeArchive(s, v, `A${i}`, { size: 7 })).archiveId);
    partitions(await race(backend, ref, 'deleteArchives', { vaultId: v, ids }), ids);
    const vault = await s.vaults.getById(v);
    assert.equal(vault?.numberOfArchives, 0);
    assert.equal(vault?.sizeInBytes, 0);
    assert.deepEqual(await garbage(s), ids.map((id) => `blob-${id}`).sort());
  });

  withDatabase('race: the tag limit holds across handles', async (ref, s) => {
    const v = await makeVault(s);
    const results = await race(backend, ref, 'addTags', { vaultId: v, n: 10, max: 10 });
    assert.equal(results[0]! + results[1]!, 10);
    assert.equal(Object.keys(await s.vaults.getTags(v)).length, 10);
  });

  withDatabase('race: the vault limit holds across handles', async (ref, s) => {
    const results = await race(backend, ref, 'createVaults', { n: 10, max: 10 });
    assert.equal(results[0]! + results[1]!, 10);
    assert.equal((await s.vaults.list('111122223333', 'us-east-1', null, 100)).length, 10);
  });

  withDatabase('race: outbox rows are claimed by one worker each', async (ref, s) => {
    await s.outbox.enqueue(
      Array.from({ length: 2 * N }, (_, i) => ({ topicArn: 't', message: `m${i}` })),
      1000,
    );
    const ids = (await s.outbox.claimDue(1000, 1000, 0)).map((r) => r.id);
    // A zero lease: every row is due again at once, for the racers.
    partitions(await race(backend, ref, 'claimOutbox', { now: 1000 }), ids);
  });

  withDatabase('race: provisioned capacity and retrieval admission limits hold across handles', async (ref, s) => {
    const bought = await race(backend, ref, 'buyCapacity', { n: 5, max: 3, now: 1000 });
    assert.equal(bought[0]! + bought[1]!, 3);
    assert.equal((await s.settings.listCapacity('111122223333', 'us-east-1', 1000)).length, 3);
    const admitted = await race(backend, ref, 'admit', { n: 10, bytes: 10, budget: 100, now: 5000 });
    assert.equal(admitted[0]! + admitted[1]!, 10);
  });

  withDatabase('race: one vault lock wins per vault', async (ref, s) => {
    const vaultIds: number[] = [];
    for (let i = 0; i < N; i++) vaultIds.push(await makeVault(s, `v${i}`));
    const won = await race(backend, ref, 'initiateLocks', { vaultIds, now: 1000 });
    partitions(won, vaultIds);
    for (const [me, ids] of won.entries()) for (const id of ids) assert.equal((await s.locks.get(id, 1000))?.lockId, `lock-${me}`);
  });

  withDatabase('race: an upload completes once; the losing manifest is garbage', async (ref, s) => {
    const v = await makeVault(s);
    const uploadIds: string[] = [];
    for (let i = 0; i < N; i++) {
      const u = `U${i}`;
      await s.uploads.create({ uploadId: u, vaultId: v, partSize: 1024 * 1024, description: null, now: 1000 });
      await s.uploads.putPart(u, { index: 0, size: 10, treeHash: 'ab'.repeat(32), blobKey: await pend(s, `part-${u}`) }, leaves(1), 1000);
      uploadIds.push(u);
    }
    const won = await race(backend, ref, 'completeUploads', { vaultId: v, uploadIds });
    partitions(won, uploadIds);
    assert.equal((await s.vaults.getById(v))?.numberOfArchives, N);
    const losers = won.flatMap((ids, me) => ids.map((u) => `manifest-${u}-${1 - me}`));
    assert.deepEqual(await garbage(s), losers.sort());
  });

  withDatabase('race: blob reference counts lose no update', async (ref, s) => {
    const v = await makeVault(s);
    const a = await makeArchive(s, v, 'A1');
    await race(backend, ref, 'retainRelease', { blobKey: a.blobKey, n: N });
    assert.deepEqual(await garbage(s), [], "the archive's own reference is left");
    await s.archives.delete(v, 'A1', 2000);
    assert.deepEqual(await garbage(s), [a.blobKey]);
  });
}
