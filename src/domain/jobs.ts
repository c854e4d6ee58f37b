import { isoMs } from '../lib/clock.js';
import { encodeSortable, randomChars } from './ids.js';

/**
 * Job state (DG api-initiate-job-post). A job is created InProgress and ends Succeeded or Failed; it cannot be
 * cancelled [DG]. Its output is downloadable until `expiresAt` (24 h after completion by default),
 * after which DescribeJob and GetJobOutput answer 404 and ListJobs no longer shows it (DG api-jobs-get).
 */
export type JobAction = 'ArchiveRetrieval' | 'InventoryRetrieval';
export type JobStatus = 'InProgress' | 'Succeeded' | 'Failed';
export type Tier = 'Expedited' | 'Standard' | 'Bulk';
export type InventoryFormat = 'JSON' | 'CSV';

export const JOB_STATUSES: readonly JobStatus[] = ['InProgress', 'Succeeded', 'Failed'];
export const TIERS: readonly Tier[] = ['Expedited', 'Standard', 'Bulk'];

/** Real StatusMessage values [R list_jobs.t]: "Operation in progress." while running, "Succeeded" after. */
export const STATUS_MESSAGE_IN_PROGRESS = 'Operation in progress.';
export const STATUS_MESSAGE_SUCCEEDED = 'Succeeded';

/**
 * A 92-character job id of [A-Za-z0-9_-] (DG api-initiate-job-post), time-ordered for index locality. It starts
 * with a letter: an id starting with '-' (as a raw time prefix would) cannot be passed to the aws
 * CLI as `--job-id <id>`, which takes it for an option.
 */
export function newJobId(nowMs: number): string {
  return 'J' + encodeSortable(nowMs, 8) + randomChars(83);
}

export interface InventoryParams {
  format: InventoryFormat;
  /** Echoed exactly as given (DG api-describe-job-get). */
  startDate: string | null;
  endDate: string | null;
  /** A string integer, as on the wire. */
  limit: string | null;
  /** The marker this job was started from. */
  marker: string | null;
}

export interface JobRecord {
  /** Creation order. */
  seq: number;
  jobId: string;
  vaultId: number;
  vaultArn: string;
  action: JobAction;
  description: string | null;
  snsTopic: string | null;
  tier: Tier | null;
  archiveId: string | null;
  archiveSize: number | null;
  archiveTreeHash: string | null;
  archiveDescription: string | null;
  blobKey: string | null;
  /** Retrieved archive range, inclusive end; always set for archive jobs. */
  rangeStart: number | null;
  rangeEnd: number | null;
  /** Whether the client sent RetrievalByteRange (changes when SHA256TreeHash is reported). */
  rangeExplicit: boolean;
  /** SHA256TreeHash: the tree hash of the retrieved range, null while unknown or unaligned. */
  treeHash: string | null;
  inventory: InventoryParams | null;
  /** After completion: the marker of the next inventory page, null when there is none. */
  nextMarker: string | null;
  status: JobStatus;
  statusMessage: string;
  createdAt: number;
  completedAt: number | null;
  /** Byte length of the output (inventory jobs; archive jobs use the range). */
  outputSize: number | null;
  /**
   * Where an inventory output is kept: a blob of the BlobStore, held by the job until it expires;
   * or, for jobs completed by a release before #12, a file name under `<dataDir>/job-outputs`
   * (`isLegacyOutputKey`), served read-only until the job expires.
   */
  outputKey: string | null;
  /** Whether this job holds a reference on the archive's blob. */
  blobRetained: boolean;
  expiresAt: number | null;
}

/**
 * What a finished job's outcome sets on its record (the fields JobRepo.complete writes; structurally
 * the storage's JobOutcome).
 */
export interface FinishedJob {
  status: 'Succeeded' | 'Failed';
  statusMessage: string;
  completedAt: number;
  expiresAt: number;
  treeHash?: string | null;
  outputSize?: number | null;
  outputKey?: string | null;
  nextMarker?: string | null;
  pin?: { archiveId: string; blobKey: string } | null;
}

/**
 * The record JobRepo.complete stores for `job` finished with `outcome`, computed without the store
 * (so that the completion's notification message can be written in the same transaction). Mirrors
 * the store's update: the tree hash keeps the job's when the outcome has none, the output fields
 * and the next marker are the outcome's, and the job holds the archive's blob when it pins one.
 */
export function completedJob(job: JobRecord, outcome: FinishedJob): JobRecord {
  return {
    ...job,
    status: outcome.status,
    statusMessage: outcome.statusMessage,
    completedAt: outcome.completedAt,
    expiresAt: outcome.expiresAt,
    treeHash: outcome.treeHash ?? job.treeHash,
    outputSize: outcome.outputSize ?? null,
    outputKey: outcome.outputKey ?? null,
    nextMarker: outcome.nextMarker ?? null,
    blobRetained: !!outcome.pin,
  };
}

/** Whether an output key names a legacy output file (`<jobId>.json|csv` under `<dataDir>/job-outputs`) rather than a blob. */
export function isLegacyOutputKey(key: string): boolean {
  return /^[A-Za-z0-9_-]+\.(json|csv)$/.test(key);
}

/** The job's output length in bytes (null before an inventory job completes). */
export function outputLength(j: JobRecord): number | null {
  if (j.action === 'ArchiveRetrieval') return j.rangeEnd! - j.rangeStart! + 1;
  return j.outputSize;
}

/** Glacier's notification event for a job action (DG configuring-notifications). */
export function completionEvent(action: JobAction): 'ArchiveRetrievalCompleted' | 'InventoryRetrievalCompleted' {
  return action === 'ArchiveRetrieval' ? 'ArchiveRetrievalCompleted' : 'InventoryRetrievalCompleted';
}

/**
 * The GlacierJobDescription of DescribeJob, ListJobs items and SNS completion messages. Every key
 * is present with explicit null where it does not apply, in alphabetical order, as in the real
 * captures (DG api-describe-job-get).
 */
export function describeJobJson(j: JobRecord) {
  const archive = j.action === 'ArchiveRetrieval';
  const completed = j.status !== 'InProgress';
  return {
    Action: j.action,
    ArchiveId: archive ? j.archiveId : null,
    ArchiveSHA256TreeHash: archive ? j.archiveTreeHash : null,
    ArchiveSizeInBytes: archive ? j.archiveSize : null,
    Completed: completed,
    CompletionDate: j.completedAt === null ? null : isoMs(j.completedAt),
    CreationDate: isoMs(j.createdAt),
    InventoryRetrievalParameters: j.inventory
      ? {
          EndDate: j.inventory.endDate,
          Format: j.inventory.format,
          Limit: j.inventory.limit,
          // "the next-page marker … is reported after completion in InventoryRetrievalParameters.Marker;
          // null means no more items" (DG api-describe-job-get, DG api-initiate-job-post).
          Marker: j.status === 'Succeeded' ? j.nextMarker : j.inventory.marker,
          StartDate: j.inventory.startDate,
        }
      : null,
    InventorySizeInBytes: !archive && j.status === 'Succeeded' ? j.outputSize : null,
    JobDescription: j.description,
    JobId: j.jobId,
    JobOutputPath: null,
    OutputLocation: null,
    RetrievalByteRange: archive ? `${j.rangeStart}-${j.rangeEnd}` : null,
    SHA256TreeHash: archive ? j.treeHash : null,
    SNSTopic: j.snsTopic,
    SelectParameters: null,
    StatusCode: j.status,
    StatusMessage: j.statusMessage,
    Tier: archive ? j.tier : null,
    VaultARN: j.vaultArn,
  };
}
