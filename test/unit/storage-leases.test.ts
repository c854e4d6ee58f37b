import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/logger.js';
import { SqliteMetadataStore } from '../../src/storage/metadata/sqlite/index.js';
import { FsBlobStore } from '../../src/storage/blobs/fs/index.js';
import { BlobMaintenance } from '../../src/storage/blobs/maintenance.js';
import { Leases } from '../../src/storage/lease.js';
import type { MetadataStore, NewJob } from '../../src/storage/metadata/types.js';

const LEASE = 60_000;

const job = (vaultId: number, jobId: string, createdAt: number): NewJob => ({
  jobId,
  vaultId,
  vaultArn: 'arn:aws:glacier:us-east-1:111122223333:vaults/v',
  action: 'InventoryRetrieval',
  description: null,
  snsTopic: null,
  tier: null,
  archiveId: null,
  archiveSize: null,
  archiveTreeHash: null,
  archiveDescription: null,
  blobKey: null,
  rangeStart: null,
  rangeEnd: null,
  rangeExplicit: false,
  treeHash: null,
  inventory: { format: 'JSON', startDate: null, endDate: null, limit: null, marker: null },
  createdAt,
});

async function setup() {
  const store = new SqliteMetadataStore(':memory:');
  const clock = new ManualClock();
  const vaults: MetadataStore['vaults'] = store.vaults;
  const v = await vaults.create({ accountId: '111122223333', region: 'us-east-1', name: 'v' }, clock.now(), 10);
  if (!('vault' in v)) throw new Error('no vault');
  return { store, clock, vaultId: v.vault.id };
}

test('Leases.renew extends this owner’s pending blobs and job claims to now + lease', async () => {
  const { store, clock, vaultId } = await setup();
  const leases = new Leases(store, clock, { leaseMs: LEASE, owner: 'me' });
  await store.blobs.begin('mine', leases.owner, leases.until());
  await store.blobs.begin('theirs', 'other', leases.until());
  assert.ok('job' in (await store.jobs.create(job(vaultId, 'J1', clock.now()), clock.now())));
  assert.equal((await store.jobs.claimDue(clock.now(), leases.owner, leases.leaseMs, 1)).length, 1);
  clock.advance(LEASE / 2);
  assert.deepEqual(await leases.renew(), { blobs: 1, claims: 1 });
  clock.advance(LEASE / 2 + 1);
  assert.equal(await store.blobs.reapExpiredPending(clock.now(), 10), 1, "only the other owner's blob lapsed");
  assert.deepEqual(await store.blobs.garbage(10), ['theirs']);
  assert.deepEqual(await store.jobs.claimDue(clock.now(), 'w2', LEASE, 10), [], 'the claim is still held');
  await store.close();
});

test('Leases.start renews right after every clock jump, so a jump past the lease does not orphan live work; stop ends that', async () => {
  const { store, clock, vaultId } = await setup();
  const leases = new Leases(store, clock, { leaseMs: LEASE });
  leases.start();
  leases.start();
  await store.blobs.begin('b1', leases.owner, leases.until());
  assert.ok('job' in (await store.jobs.create(job(vaultId, 'J1', clock.now()), clock.now())));
  await store.jobs.claimDue(clock.now(), leases.owner, LEASE, 1);
  // The renewal runs inside advance() (the SQLite store's work is synchronous), before anyone can reap or claim.
  clock.advance(10 * LEASE);
  assert.equal(await store.blobs.reapExpiredPending(clock.now(), 10), 0);
  assert.deepEqual(await store.jobs.claimDue(clock.now(), 'w2', LEASE, 10), []);
  await leases.stop();
  clock.advance(10 * LEASE);
  assert.equal(await store.blobs.reapExpiredPending(clock.now(), 10), 1, 'stopped: the lease lapses');
  assert.equal((await store.jobs.claimDue(clock.now(), 'w2', LEASE, 10)).length, 1);
  await store.close();
});

test('Leases.start renews every third of a lease on its timer, with the clock’s now + lease, for its owner', async () => {
  const calls: string[] = [];
  const fake = {
    blobs: { renewPending: async (owner: string, until: number) => (calls.push(`blobs ${owner} ${until}`), 0) },
    jobs: { renewClaims: async (owner: string, until: number) => (calls.push(`claims ${owner} ${until}`), 0) },
  } as unknown as MetadataStore;
  const clock = { t: 1000, now() { return this.t; } };
  mock.timers.enable({ apis: ['setInterval'] });
  try {
    const leases = new Leases(fake, clock, { leaseMs: 300, owner: 'me' });
    leases.start();
    mock.timers.tick(99);
    assert.deepEqual(calls, []);
    clock.t = 1100;
    mock.timers.tick(1);
    assert.deepEqual(calls, ['blobs me 1400', 'claims me 1400']);
    clock.t = 1200;
    mock.timers.tick(100);
    assert.deepEqual(calls.slice(2), ['blobs me 1500', 'claims me 1500']);
    await leases.stop();
    mock.timers.tick(1000);
    assert.equal(calls.length, 4, 'no renewal after stop');
  } finally {
    mock.timers.reset();
  }
});

test('BlobMaintenance: an exclusive start-up empties tmp/ and reaps every pending blob; a shared one touches neither; sweep reaps only lapsed leases', async () => {
  const root = mkdtempSync(join(tmpdir(), 'firn-maint-'));
  try {
    const store = new SqliteMetadataStore(join(root, 'meta.db'));
    const clock = new ManualClock();
    const blobs = new FsBlobStore(join(root, 'blobs'));
    await blobs.init({ exclusive: true });
    const opts = { uploadIdleMs: 24 * 3_600_000, finishedRetentionMs: 3_600_000, wallClock: clock };
    const maint = new BlobMaintenance(store, blobs, clock, silentLogger(), opts);
    // A writer that is still writing (lease in the future) and one whose lease lapsed.
    const live = blobs.newKey('blob');
    const stalled = blobs.newKey('blob');
    await store.blobs.begin(live, 'w-live', clock.now() + LEASE);
    await store.blobs.begin(stalled, 'w-dead', clock.now() - 1);
    const w1 = await blobs.create(live);
    await w1.write(Buffer.from('live'));
    const w2 = await blobs.create(stalled);
    await w2.write(Buffer.from('stalled'));
    const tmp = () => readdirSync(join(root, 'blobs', 'tmp')).sort();
    assert.deepEqual(await maint.startup({ exclusive: false }), { removedTemp: 0, reapedPending: 0, collected: 0 });
    assert.deepEqual(tmp(), [live, stalled].sort());
    assert.equal(await maint.sweep(), 0);
    assert.deepEqual(tmp(), [live], "the stalled writer's temp bytes were collected with its pending row");
    assert.equal(await store.blobs.known(stalled), false, 'collected and forgotten');
    assert.equal(await store.blobs.known(live), true);
    await assert.rejects(() => w2.commit(), 'the stalled writer cannot commit any more');
    await w2.abort();
    // A restart of the only process: every writer is dead, whatever its lease says.
    assert.deepEqual(await maint.startup({ exclusive: true }), { removedTemp: 1, reapedPending: 1, collected: 1 });
    assert.deepEqual(tmp(), []);
    assert.equal(await store.blobs.known(live), false);
    await w1.abort();
    await store.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
