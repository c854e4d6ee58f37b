import assert from 'node:assert/strict';
import type { ArchiveRecord, ClaimedJob, JobClaim, JobRecord, MetadataStore, NewJob, SignalChannel, VaultKey } from '../../../src/storage/metadata/types.js';

export const ACCOUNT = '111122223333';
export const REGION = 'us-east-1';
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

/** The writer of the pending blobs the fixtures record, and a lease that never lapses in these tests. */
export const WRITER = 'writer-1';
export const FAR = 1e15;

/** Records `blobKey` as pending (begin), as every writer does before the first byte. */
export async function pend(s: MetadataStore, blobKey: string, leaseUntil = FAR, owner = WRITER): Promise<string> {
  await s.blobs.begin(blobKey, owner, leaseUntil);
  return blobKey;
}

/**
 * Whether a blob is live (held by something): discard leaves a live blob alone and turns any other
 * into garbage, so this probe changes nothing for a live blob. Use it only where a non-live blob
 * may become garbage.
 */
export async function isLive(s: MetadataStore, blobKey: string): Promise<boolean> {
  await s.blobs.discard(blobKey, 0);
  return !(await s.blobs.garbage(100_000)).includes(blobKey);
}

/** The claim a claimDue result stands for. */
export const claimOf = (c: ClaimedJob, workerId: string): JobClaim => ({ seq: c.job.seq, workerId, attempts: c.attempts });

/** Claims up to `batch` due jobs for `workerId` and returns their claims. */
export async function claim(s: MetadataStore, now: number, workerId = 'w', leaseMs = 60_000, batch = 10): Promise<JobClaim[]> {
  return (await s.jobs.claimDue(now, workerId, leaseMs, batch)).map((c) => claimOf(c, workerId));
}

/**
 * Counts the signals of one channel. `reach(n)` resolves once `n` have arrived (in-process stores
 * signal before the writing call returns; PostgreSQL's arrive later, in commit order).
 */
export async function countSignals(s: MetadataStore, channel: SignalChannel) {
  let count = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  const stop = await s.signals.listen(channel, () => {
    count++;
    for (const w of waiters.filter((w) => count >= w.n)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  return {
    get count() {
      return count;
    },
    reach(n: number): Promise<void> {
      return count >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }));
    },
    stop,
  };
}

export const vaultKey = (name: string, region = REGION, accountId = ACCOUNT): VaultKey => ({ accountId, region, name });

/** Creates a vault and returns its id. */
export async function makeVault(s: MetadataStore, name = 'v', now = 1000): Promise<number> {
  const r = await s.vaults.create(vaultKey(name), now, 1000);
  assert.ok('vault' in r);
  return r.vault.id;
}

/** `n` packed 32-byte leaf digests, each filled with a byte derived from `seed`. */
export function leaves(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(32 * n);
  for (let i = 0; i < n; i++) b.fill((seed * 31 + i) & 0xff, i * 32, (i + 1) * 32);
  return b;
}

export function archiveRecord(vaultId: number, id: string, o: Partial<ArchiveRecord> = {}): ArchiveRecord {
  return {
    vaultId,
    archiveId: id,
    size: 100,
    treeHash: 'ab'.repeat(32),
    description: `desc ${id}`,
    createdAt: 1000,
    blobKey: `blob-${id}`,
    ...o,
  };
}

/** Stores an archive (one leaf; its blob begun, then committed) and returns its record. */
export async function makeArchive(s: MetadataStore, vaultId: number, id: string, o: Partial<ArchiveRecord> = {}): Promise<ArchiveRecord> {
  const a = archiveRecord(vaultId, id, o);
  await pend(s, a.blobKey);
  await s.archives.create(a, leaves(1));
  return a;
}

export function inventoryJob(vaultId: number, jobId: string, o: Partial<NewJob> = {}): NewJob {
  return {
    jobId,
    vaultId,
    vaultArn: `arn:aws:glacier:${REGION}:${ACCOUNT}:vaults/v`,
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
    createdAt: 1000,
    ...o,
  };
}

export function archiveJob(vaultId: number, jobId: string, a: ArchiveRecord, o: Partial<NewJob> = {}): NewJob {
  return inventoryJob(vaultId, jobId, {
    action: 'ArchiveRetrieval',
    tier: 'Standard',
    archiveId: a.archiveId,
    archiveSize: a.size,
    archiveTreeHash: a.treeHash,
    archiveDescription: a.description,
    blobKey: a.blobKey,
    rangeStart: 0,
    rangeEnd: a.size - 1,
    inventory: null,
    ...o,
  });
}

/** The blob keys queued for collection, sorted. */
export async function garbage(s: MetadataStore): Promise<string[]> {
  return (await s.blobs.garbage(1000)).sort();
}

/** Creates a job (no admission) and returns its record. */
export async function createJob(s: MetadataStore, job: NewJob, dueAt: number): Promise<JobRecord> {
  const r = await s.jobs.create(job, dueAt);
  assert.ok('job' in r);
  return r.job;
}
