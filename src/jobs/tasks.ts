import type { Config } from '../config/schema.js';
import type { JobRecord } from '../domain/jobs.js';
import { STATUS_MESSAGE_SUCCEEDED } from '../domain/jobs.js';
import { CSV_HEADER, csvRow, decodeInventoryMarker, encodeInventoryMarker, jsonHead, jsonItem, JSON_TAIL, parseInventoryDate, vaultInventory, type InventoryCursor } from '../domain/inventory.js';
import { isTreeHashAligned, MiB, treeHashOfLeaves } from '../domain/treehash.js';
import type { ArchiveListOptions, ArchiveRecord, ArchiveRepoContract, JobOutcome, MetadataStore } from '../storage/metadata/types.js';
import type { BlobStore, BlobWriter } from '../storage/blobs/types.js';
import type { Logger } from '../lib/logger.js';
import { firstBadLeaf } from '../storage/verify.js';
import { BlobLeaseLostError } from '../storage/metadata/errors.js';

export interface TaskDeps {
  store: MetadataStore;
  config: Config;
  /** Archive bytes (read and verified by retrievals) and inventory outputs (written). */
  blobs: Pick<BlobStore, 'read' | 'newKey' | 'create'>;
  /** This process's leases (src/storage/lease.ts): an output blob is pending under them while it is written. */
  leases: { readonly owner: string; until(): number };
  log: Logger;
}

/** Leaf digests of a retrieval are copied onto the job (for ranged-download hashes after the archive is gone) up to this many. */
const MAX_SAVED_LEAVES = 65536;
const PAGE = 1000;

/** The outcome fields every finished job shares. */
function finished(now: number, config: Config): Pick<JobOutcome, 'completedAt' | 'expiresAt'> {
  return { completedAt: now, expiresAt: now + config.jobOutputRetention };
}

export function failedOutcome(now: number, config: Config, message: string): JobOutcome {
  return { status: 'Failed', statusMessage: message, ...finished(now, config) };
}

export function archiveGone(job: JobRecord, now: number, config: Config): JobOutcome {
  return failedOutcome(now, config, `The archive was deleted before the job completed: ${job.archiveId}`);
}

/**
 * Archive retrieval: reads the range and checks every 1 MiB of it against the leaf digests stored
 * at upload, computes the range's tree hash from those digests, and asks the completing
 * transaction to pin the archive's blob for the output window (an archive deleted afterwards does
 * not break a prepared output [DG api-archive-delete]). Damaged bytes fail the job, naming the
 * archive and the MiB, so that a Succeeded job never serves them. An archive deleted before the
 * job ran fails the job ("A deleted archive can still yield a successful InitiateJob; the job then fails").
 */
export async function runArchiveRetrieval(d: TaskDeps, job: JobRecord, now: number): Promise<JobOutcome> {
  const archives: ArchiveRepoContract = d.store.archives;
  const a = await archives.get(job.vaultId, job.archiveId!);
  if (!a) return archiveGone(job, now, d.config);
  const start = job.rangeStart!;
  const endExclusive = job.rangeEnd! + 1;
  const firstLeaf = start / MiB;
  const lastLeaf = Math.ceil(endExclusive / MiB);
  let treeHash: string | null = null;
  let leaves: JobOutcome['leaves'] = null;
  const packed = await archives.getLeaves(a.archiveId);
  if (packed && packed.length === Math.max(1, Math.ceil(a.size / MiB)) * 32) {
    const bad = await firstBadLeaf(d.blobs, a.blobKey, a.size, { firstLeaf: 0, packed }, start, endExclusive);
    // Deleted (and its blob collected) while it was being read: not damage.
    if (bad && !(await archives.get(job.vaultId, a.archiveId))) return archiveGone(job, now, d.config);
    if (bad) {
      d.log.error({ archiveId: a.archiveId, vaultArn: job.vaultArn, jobId: job.jobId, mib: bad.leafIndex, reason: bad.reason }, 'archive bytes damaged: retrieval failed');
      return failedOutcome(now, d.config, `The archive's stored bytes are damaged and cannot be retrieved: archive ${a.archiveId}, MiB ${bad.leafIndex} (bytes ${bad.leafIndex * MiB}-${Math.min((bad.leafIndex + 1) * MiB, a.size) - 1}) ${bad.reason === 'short' ? 'is missing' : 'does not match the SHA-256 tree hash recorded at upload'}.`);
    }
    const slice = packed.subarray(firstLeaf * 32, lastLeaf * 32);
    if (isTreeHashAligned(start, endExclusive, a.size)) treeHash = treeHashOfLeaves(slice);
    if (lastLeaf - firstLeaf <= MAX_SAVED_LEAVES) leaves = { firstLeaf, packed: Buffer.from(slice) };
  } else if (start === 0 && endExclusive === a.size) {
    treeHash = a.treeHash;
  }
  // The blob is pinned by the completing transaction, which re-checks that the archive is live.
  return { status: 'Succeeded', statusMessage: STATUS_MESSAGE_SUCCEEDED, ...finished(now, d.config), treeHash, leaves, pin: { archiveId: a.archiveId, blobKey: a.blobKey } };
}

/**
 * Inventory retrieval, streamed page by page into an output blob of this attempt (DG api-job-output-get). It returns
 * the vault's last inventory ("InitiateJob for an inventory returns the last generated inventory"),
 * the one DescribeVault reports (`vaultInventory`): the archives the vault held at its date, read
 * as of that date so that writes while the pages stream cannot change it. So InventoryDate moves
 * only after archives were added or deleted. Before any inventory the list is empty and dated when
 * the vault was created (it was empty then), so repeated jobs agree. StartDate is inclusive,
 * EndDate exclusive; Limit caps the items and the completed job reports the Marker of the next
 * page, or null.
 */
export async function runInventory(d: TaskDeps, job: JobRecord, now: number): Promise<JobOutcome> {
  const vault = await d.store.vaults.getById(job.vaultId);
  if (!vault) return failedOutcome(now, d.config, 'The vault was deleted before the job completed.');
  const inv = job.inventory!;
  const asOf = vaultInventory(d.config.inventoryMode, vault).at;
  const inventoryDate = asOf ?? vault.createdAt;
  const startDate = inv.startDate !== null ? parseInventoryDate(inv.startDate)! : undefined;
  const endDate = inv.endDate !== null ? parseInventoryDate(inv.endDate)! : undefined;
  // Up to 2^63−1; above 2^53 the rounding of Number() cannot matter (no vault holds that many archives).
  const limit = inv.limit !== null ? Number(inv.limit) : Infinity;
  let cursor: InventoryCursor | undefined = inv.marker !== null ? (decodeInventoryMarker(inv.marker) ?? undefined) : undefined;
  let nextMarker: string | null = null;
  const list = (o: ArchiveListOptions): Promise<ArchiveRecord[]> =>
    asOf === null ? Promise.resolve([]) : d.store.jobs.listArchivesAsOf(job.vaultId, asOf, o);

  async function* render(): AsyncGenerator<string> {
    const csv = inv.format === 'CSV';
    yield csv ? CSV_HEADER : jsonHead(job.vaultArn, inventoryDate);
    let n = 0;
    let last: ArchiveRecord | null = null;
    for (;;) {
      const want = Math.min(PAGE, limit - n + 1);
      const page = await list({
        ...(startDate !== undefined ? { startDate } : {}),
        ...(endDate !== undefined ? { endDate } : {}),
        ...(cursor ? { after: cursor } : {}),
        limit: want,
      });
      for (const a of page) {
        if (n === limit) {
          nextMarker = encodeInventoryMarker({ createdAt: last!.createdAt, archiveId: last!.archiveId });
          break;
        }
        yield csv ? csvRow(a) : jsonItem(a, n === 0);
        n++;
        last = a;
      }
      if (nextMarker !== null || page.length < want) break;
      cursor = { createdAt: last!.createdAt, archiveId: last!.archiveId };
    }
    if (!csv) yield JSON_TAIL;
  }

  const { key: outputKey, size: outputSize } = await writeOutput(d, render(), now);
  return {
    status: 'Succeeded',
    statusMessage: STATUS_MESSAGE_SUCCEEDED,
    ...finished(now, d.config),
    outputSize,
    outputKey,
    nextMarker,
  };
}

/**
 * Writes an output as a new blob of its own, pending under this process's lease from before its
 * first byte, and commits the bytes; returns its key and length. The completing transaction turns
 * it live, held by the job until it expires; the engine discards it when that does not happen. On
 * failure the blob is discarded here. Text is buffered up to 1 MiB between writes.
 */
async function writeOutput(d: TaskDeps, pieces: AsyncIterable<string>, now: number): Promise<{ key: string; size: number }> {
  const key = d.blobs.newKey('blob');
  await d.store.blobs.begin(key, d.leases.owner, d.leases.until());
  let w: BlobWriter | null = null;
  try {
    w = await d.blobs.create(key);
    let buf: string[] = [];
    let pending = 0;
    const flush = async () => {
      if (buf.length === 0) return;
      const b = Buffer.from(buf.join(''), 'utf8');
      buf = [];
      pending = 0;
      await w!.write(b);
    };
    for await (const p of pieces) {
      buf.push(p);
      pending += p.length;
      if (pending >= 1 << 20) await flush();
    }
    await flush();
    await w.commit().catch((e: unknown) => {
      // The temp bytes are gone: the sweep reclaimed them because this process's lease lapsed.
      throw (e as NodeJS.ErrnoException).code === 'ENOENT' ? new BlobLeaseLostError(key) : e;
    });
    return { key, size: w.bytes };
  } catch (e) {
    await w?.abort();
    await d.store.blobs.discard(key, now).catch((err: unknown) => d.log.warn({ err, blobKey: key }, 'could not discard an unused output blob'));
    throw e;
  }
}
