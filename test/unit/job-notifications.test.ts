import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SqliteMetadataStore } from '../../src/storage/metadata/sqlite/index.js';
import { completedJob, describeJobJson, isLegacyOutputKey } from '../../src/domain/jobs.js';
import { completionNotifications, withNotifications } from '../../src/jobs/notifications.js';
import type { JobOutcome } from '../../src/storage/metadata/types.js';
import { archiveJob, claim, createJob, DAY, inventoryJob, makeArchive, makeVault, pend } from '../conformance/metadata/fixtures.js';

const VAULT_TOPIC = 'arn:aws:sns:us-east-1:111122223333:vault-topic';
const JOB_TOPIC = 'arn:aws:sns:us-east-1:111122223333:job-topic';

test('completedJob is the record jobs.complete stores, for a pinned retrieval, an inventory output and a failure', async () => {
  const s = new SqliteMetadataStore(':memory:');
  try {
    const vaultId = await makeVault(s);
    const a = await makeArchive(s, vaultId, 'A1', { size: 3 * 1024 * 1024, blobKey: 'b'.padEnd(33, '1') });
    const cases: { job: Parameters<typeof createJob>[1]; outcome: (now: number) => Promise<JobOutcome> }[] = [
      {
        job: archiveJob(vaultId, 'J-archive', a, { rangeExplicit: true, treeHash: null }),
        outcome: async (now) => ({ status: 'Succeeded', statusMessage: 'Succeeded', completedAt: now, expiresAt: now + DAY, treeHash: 'cd'.repeat(32), pin: { archiveId: a.archiveId, blobKey: a.blobKey } }),
      },
      {
        job: archiveJob(vaultId, 'J-archive-known-hash', a, { treeHash: 'ef'.repeat(32) }),
        outcome: async (now) => ({ status: 'Succeeded', statusMessage: 'Succeeded', completedAt: now, expiresAt: now + DAY, treeHash: null, pin: { archiveId: a.archiveId, blobKey: a.blobKey } }),
      },
      {
        job: inventoryJob(vaultId, 'J-inventory', { inventory: { format: 'CSV', startDate: null, endDate: null, limit: '1', marker: 'm0' } }),
        outcome: async (now) => ({
          status: 'Succeeded',
          statusMessage: 'Succeeded',
          completedAt: now,
          expiresAt: now + DAY,
          outputKey: await pend(s, 'b'.padEnd(33, '2')),
          outputSize: 42,
          nextMarker: 'm1',
        }),
      },
      {
        job: inventoryJob(vaultId, 'J-failed', { snsTopic: JOB_TOPIC }),
        outcome: async (now) => ({ status: 'Failed', statusMessage: 'The vault was deleted before the job completed.', completedAt: now, expiresAt: now + DAY }),
      },
    ];
    let now = 5000;
    for (const c of cases) {
      const job = await createJob(s, c.job, now);
      const [held] = await claim(s, now);
      assert.equal(held?.seq, job.seq);
      const outcome = await c.outcome(now + 10);
      const stored = await s.jobs.complete(held!, outcome);
      assert.deepEqual(completedJob(job, outcome), stored, c.job.jobId);
      now += 1000;
    }
  } finally {
    await s.close();
  }
});

test('completion notifications: the job topic, and the vault topic when its events include the completion event; the message is the DescribeJob JSON', async () => {
  const s = new SqliteMetadataStore(':memory:');
  try {
    const vaultId = await makeVault(s);
    const a = await makeArchive(s, vaultId, 'A1');
    const retrieval = await createJob(s, archiveJob(vaultId, 'J-1', a, { snsTopic: JOB_TOPIC }), 0);
    const inventory = await createJob(s, inventoryJob(vaultId, 'J-2'), 0);
    const done: JobOutcome = { status: 'Succeeded', statusMessage: 'Succeeded', completedAt: 100, expiresAt: 100 + DAY, pin: { archiveId: a.archiveId, blobKey: a.blobKey } };
    const config = { snsTopic: VAULT_TOPIC, events: ['ArchiveRetrievalCompleted'] };

    // "If both a vault config for that event and a per-job SNSTopic exist, both get a message" (DG configuring-notifications).
    const both = completionNotifications(retrieval, done, config);
    assert.deepEqual(both.map((n) => n.topicArn), [JOB_TOPIC, VAULT_TOPIC]);
    const message = JSON.parse(both[0]!.message);
    assert.deepEqual(message, JSON.parse(JSON.stringify(describeJobJson(completedJob(retrieval, done)))));
    assert.equal(message.StatusCode, 'Succeeded');
    assert.equal(message.Completed, true);
    assert.equal(both[1]!.message, both[0]!.message);
    assert.deepEqual(completionNotifications(retrieval, done, null).map((n) => n.topicArn), [JOB_TOPIC]);
    // The vault's configuration lists archive retrievals only; the inventory job has no topic of its own.
    assert.deepEqual(completionNotifications(inventory, { ...done, pin: null }, config), []);
    assert.deepEqual(
      completionNotifications(inventory, { ...done, pin: null }, { snsTopic: VAULT_TOPIC, events: ['InventoryRetrievalCompleted'] }).map((n) => n.topicArn),
      [VAULT_TOPIC],
    );

    // Through the store: the rows are written in the completing transaction, as computed.
    await s.vaults.setNotifications(vaultId, config);
    const [held] = await claim(s, 0, 'w', 60_000, 1);
    assert.equal(held?.seq, retrieval.seq);
    const outcome = withNotifications(retrieval, done, await s.vaults.getNotifications(vaultId));
    const stored = await s.jobs.complete(held!, outcome);
    assert.ok(stored && stored !== 'archive-gone');
    const rows = [await s.outbox.get(1), await s.outbox.get(2)];
    assert.deepEqual(
      rows.map((r) => r?.topicArn),
      [JOB_TOPIC, VAULT_TOPIC],
    );
    for (const r of rows) assert.deepEqual(JSON.parse(r!.message), JSON.parse(JSON.stringify(describeJobJson(stored))));
    assert.equal(await s.outbox.get(3), null);
  } finally {
    await s.close();
  }
});

test('legacy output keys (files of the release before #12) are told from blob keys', () => {
  assert.equal(isLegacyOutputKey('J0123abc_-xyz.json'), true);
  assert.equal(isLegacyOutputKey('J0123abc_-xyz.csv'), true);
  assert.equal(isLegacyOutputKey('b' + '0'.repeat(32)), false);
  assert.equal(isLegacyOutputKey('../meta.db.json'), false);
  assert.equal(isLegacyOutputKey('x.json.123.tmp'), false);
});
