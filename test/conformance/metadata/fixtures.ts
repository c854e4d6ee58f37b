import assert from 'node:assert/strict';
import type { ArchiveRecord, JobRecord, MetadataStore, NewJob, VaultKey } from '../../../src/storage/metadata/types.js';

export const ACCOUNT = '111122223333';
export const REGION = 'us-east-1';
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

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

/** Stores an archive (one leaf) and returns its record. */
export async function makeArchive(s: MetadataStore, vaultId: number, id: string, o: Partial<ArchiveRecord> = {}): Promise<ArchiveRecord> {
  const a = archiveRecord(vaultId, id, o);
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
