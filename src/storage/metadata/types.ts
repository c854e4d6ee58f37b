/**
 * The metadata storage seam. Every method is one atomic unit of work (one transaction in SQL
 * backends), so that no caller needs a generic transaction API and the SQLite (embedded) and
 * PostgreSQL (scale-out) implementations can both honour it. Methods are async because the
 * PostgreSQL driver is; the SQLite implementation does its work synchronously inside.
 *
 * Any invariant a method relies on is checked inside its unit, on the rows as they are then, never
 * on a record the caller read earlier. Methods that check one are documented with the rows they
 * lock (SQLite: every writing method takes the database write lock with BEGIN IMMEDIATE, so "lock"
 * says which rows a PostgreSQL twin must lock, e.g. SELECT … FOR UPDATE) and what they guarantee.
 *
 * Ids other rows or encoded ids refer to are never handed out twice: vault ids (encoded in archive
 * ids, held by jobs, uploads, archives) and job seqs come from a counter that only grows
 * (SQLite: `id_sequences`; PostgreSQL: a SEQUENCE). Archive, upload and job ids, access key ids and
 * blob keys carry ≥ 80 random bits; upload and archive row ids are only referred to by rows deleted
 * in the same transaction (parts, leaves). Account ids are never deleted.
 *
 * Times are epoch milliseconds (numbers); conversion to wire formats happens at the edge.
 */

export interface VaultKey {
  accountId: string;
  region: string;
  name: string;
}

export interface VaultRecord extends VaultKey {
  id: number;
  createdAt: number;
  /** Live figures, maintained as archives are added and deleted. */
  numberOfArchives: number;
  sizeInBytes: number;
  /** Last snapshot of the daily inventory mode (null before the first one). */
  lastInventoryAt: number | null;
  inventoryNumberOfArchives: number;
  inventorySizeInBytes: number;
  /**
   * Last time an archive was added or deleted (null if never); never moves backwards. The live
   * inventory mode dates the vault's inventory with it.
   */
  lastWriteAt: number | null;
}

export interface NotificationConfig {
  snsTopic: string;
  events: string[];
}

/** What VaultRepo.delete did (the deleted jobs' output blobs are released in the same unit, like every other blob). */
export type VaultDeleteResult = { deleted: true } | { deleted: false; reason: 'not-found' | 'not-deletable' };

export interface VaultRepo {
  /**
   * Idempotent: returns the existing vault if it exists. `created` says whether it is new.
   * Locks: the account's vault rows (the count against `maxPerAccount`). A new vault gets an id no
   * vault ever had.
   */
  create(key: VaultKey, now: number, maxPerAccount: number): Promise<{ vault: VaultRecord; created: boolean } | { limitExceeded: true }>;
  get(key: VaultKey): Promise<VaultRecord | null>;
  getById(id: number): Promise<VaultRecord | null>;
  /** Vaults of one account and region in ASCII name order, starting at `fromName` (inclusive). */
  list(accountId: string, region: string, fromName: string | null, limit: number): Promise<VaultRecord[]>;
  /**
   * Deletes the vault and everything under it, in one unit, if `deletable` (pure, synchronous)
   * accepts the vault row as it is inside the unit and no live archive row remains: jobs (queued
   * or completed, with their queue entries, saved leaves and pinned blob references), multipart
   * uploads (their parts' blob references released), archive tombstones with their leaves, tags,
   * notifications, access policy and lock. Locks: the vault row, and every job, upload and archive
   * row of the vault. Holds: nothing that names the vault id outlives it, and an archive, job or
   * upload committed concurrently either precedes the check (and blocks or joins the deletion) or
   * fails with VaultGoneError.
   */
  delete(id: number, deletable: (v: VaultRecord) => boolean, now: number): Promise<VaultDeleteResult>;

  getTags(vaultId: number): Promise<Record<string, string>>;
  /** Adds or overwrites; fails (returns false) without change if the result would exceed maxTags. */
  addTags(vaultId: number, tags: Record<string, string>, maxTags: number): Promise<boolean>;
  removeTags(vaultId: number, keys: string[]): Promise<void>;

  getNotifications(vaultId: number): Promise<NotificationConfig | null>;
  setNotifications(vaultId: number, config: NotificationConfig): Promise<void>;
  deleteNotifications(vaultId: number): Promise<void>;

  getAccessPolicy(vaultId: number): Promise<string | null>;
  setAccessPolicy(vaultId: number, policy: string): Promise<void>;
  deleteAccessPolicy(vaultId: number): Promise<void>;
}

export interface AccessKeyRecord {
  accessKeyId: string;
  accountId: string;
  /** null for the account root. */
  userName: string | null;
  /**
   * Stored and returned byte-exact. Above the storage layer this is the plain secret: the store that
   * `openStorage` returns seals it on the way in (SealedAccountRepo); backends only keep the text.
   */
  secret: string;
  status: 'Active' | 'Inactive';
  createdAt: number;
}

export interface AccountRepo {
  ensureAccount(accountId: string, now: number): Promise<void>;
  getAccessKey(accessKeyId: string): Promise<AccessKeyRecord | null>;
  putAccessKey(key: AccessKeyRecord): Promise<void>;
  /** The root key of the first account created, used to reprint hints at start-up. */
  findRootKeys(): Promise<AccessKeyRecord[]>;

  // Accounts, IAM users, their keys and inline identity policies (admin CLI).
  listAccounts(): Promise<{ accountId: string; createdAt: number }[]>;
  accountExists(accountId: string): Promise<boolean>;
  /** false when the user already exists. */
  createUser(accountId: string, userName: string, now: number): Promise<boolean>;
  getUser(accountId: string, userName: string): Promise<UserRecord | null>;
  listUsers(accountId: string): Promise<UserRecord[]>;
  /** Removes the user with its access keys and policies; false when there was no such user. */
  deleteUser(accountId: string, userName: string): Promise<boolean>;
  /** Keys of an account: all of them (undefined), the root's (null) or one user's. */
  listAccessKeys(accountId: string, userName?: string | null): Promise<AccessKeyRecord[]>;
  setAccessKeyStatus(accessKeyId: string, status: 'Active' | 'Inactive'): Promise<boolean>;
  deleteAccessKey(accessKeyId: string): Promise<boolean>;
  /** Adds or replaces the named inline policy of a user (the document is stored byte-exact). */
  putUserPolicy(p: UserPolicyRecord): Promise<void>;
  getUserPolicy(accountId: string, userName: string, policyName: string): Promise<UserPolicyRecord | null>;
  listUserPolicies(accountId: string, userName: string): Promise<UserPolicyRecord[]>;
  deleteUserPolicy(accountId: string, userName: string, policyName: string): Promise<boolean>;
}

export interface UserRecord {
  accountId: string;
  userName: string;
  createdAt: number;
}

export interface UserPolicyRecord {
  accountId: string;
  userName: string;
  policyName: string;
  document: string;
  updatedAt: number;
}

/** Vault lock (DG vault-lock). */
export interface VaultLockRecord {
  vaultId: number;
  lockId: string;
  policy: string;
  state: 'InProgress' | 'Locked';
  createdAt: number;
  /** InProgress: createdAt + 24 h; Locked: null. */
  expiresAt: number | null;
}

export interface VaultLockRepo {
  /** The lock in force at `now`; an InProgress lock past its expiry counts as none. */
  get(vaultId: number, now: number): Promise<VaultLockRecord | null>;
  /** Installs an InProgress lock unless one is in force (then reports its state). */
  initiate(lock: VaultLockRecord, now: number): Promise<{ ok: true } | { ok: false; state: 'InProgress' | 'Locked' }>;
  complete(vaultId: number, lockId: string, now: number): Promise<'locked' | 'already-locked' | 'wrong-id-locked' | 'wrong-id-in-progress' | 'none'>;
  /** Removes an InProgress lock; 'locked' (and no change) when the lock is Locked. */
  abort(vaultId: number, now: number): Promise<'aborted' | 'none' | 'locked'>;
}

/** Server state kept across restarts (key → text). */
export interface StateRepo {
  get(key: string): Promise<string | null>;
  put(key: string, value: string): Promise<void>;
}

/** Figures for metrics, read at scrape time (see StatsRepo). Times are domain-clock epoch ms. */
export interface OperationalStats {
  vaults: number;
  /** Live archives and their bytes, from the per-vault counters (no archive scan). */
  archives: number;
  archiveBytes: number;
  /** Jobs waiting to run (or running) in the queue. */
  jobQueueDepth: number;
  /** The earliest due time in the queue, or null when it is empty. */
  oldestQueuedDueAt: number | null;
  /** Jobs within their retention window by status (InProgress, Succeeded, Failed). */
  jobsByStatus: Record<string, number>;
  /** Notifications not yet delivered, those among them that failed at least once, and the oldest one's creation time. */
  outboxPending: number;
  outboxFailing: number;
  outboxOldestPendingAt: number | null;
}

/** Read-only figures for operators. Must stay cheap at any size: no query may scan archives. */
export interface StatsRepo {
  snapshot(): Promise<OperationalStats>;
  /** Highest applied migration and the highest this build knows; rejects when the database cannot be read. */
  schema(): Promise<{ applied: number; expected: number }>;
}

/**
 * Wake-ups between processes that share a store (PostgreSQL: LISTEN/NOTIFY; SQLite: in-process,
 * since one server owns the database). The store itself signals, after the commit (PostgreSQL:
 * pg_notify inside the transaction, delivered at commit):
 * - 'jobs' when a queue entry is added or made due (jobs.create, jobs.retry, jobs.makeDue), so that
 *   every engine recomputes when to wake;
 * - 'outbox' when outbox rows are added (outbox.enqueue, jobs.complete with notifications).
 * A signal is a hint: listeners re-read the store; a lost one only delays work until the next poll.
 */
export type SignalChannel = 'jobs' | 'outbox';

export interface Signals {
  /** Calls `fn` on every signal of the channel (from any process) until the returned function is called. */
  listen(channel: SignalChannel, fn: () => void): Promise<() => Promise<void>>;
}

export interface MetadataStore {
  readonly kind: 'sqlite' | 'postgres';
  readonly signals: Signals;
  readonly vaults: VaultRepo;
  readonly accounts: AccountRepo;
  readonly state: StateRepo;
  /** Archives (with their leaf hashes), multipart uploads and blob references. */
  readonly archives: ArchiveRepo;
  readonly uploads: UploadRepo;
  readonly blobs: BlobRepo;
  /** Data-retrieval policy, provisioned capacity, retrieval admission. */
  readonly settings: SettingsRepo;
  /** The notification outbox (rows written by the job system, delivered by src/notify). */
  readonly outbox: OutboxRepo;
  /** Jobs and their queue. */
  readonly jobs: JobRepo;
  /** Vault locks. */
  readonly locks: VaultLockRepo;
  /** Figures for /_firn/metrics and /_firn/ready. */
  readonly stats: StatsRepo;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Archives and blobs: the members below are the contract the job system relies on.

export interface ArchiveRecord {
  vaultId: number;
  /** 138 characters of [A-Za-z0-9_-]. */
  archiveId: string;
  size: number;
  /** Hex SHA-256 tree hash of the whole archive. */
  treeHash: string;
  /** '' when none was given (inventory shows "" rather than null). */
  description: string;
  createdAt: number;
  /** Key of the archive's bytes in the BlobStore. */
  blobKey: string;
}

/** Cursor for paging archives in creation order (inventory). */
export interface ArchiveCursor {
  createdAt: number;
  archiveId: string;
}

export interface ArchiveListOptions {
  /** Inclusive lower bound on createdAt. */
  startDate?: number;
  /** Exclusive upper bound on createdAt. */
  endDate?: number;
  /** Return archives strictly after this cursor. */
  after?: ArchiveCursor;
  limit: number;
}

export interface ArchiveRepoContract {
  /** A live (not deleted) archive of this vault, or null. */
  get(vaultId: number, archiveId: string): Promise<ArchiveRecord | null>;
  /** Packed 1 MiB leaf digests (32 bytes each) of the archive, or null if unknown. */
  getLeaves(archiveId: string): Promise<Buffer | null>;
  /** Live archives of a vault in (createdAt, archiveId) order, one page at a time. */
  list(vaultId: number, opts: ArchiveListOptions): Promise<ArchiveRecord[]>;
}

/** Reference counts on blobs: an archive holds one, each job output in its window holds one. */
export interface BlobRefRepoContract {
  retain(blobKey: string): Promise<void>;
  /** Drops one reference; the blob is collected once no reference is left. */
  release(blobKey: string): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Data-retrieval policy, provisioned capacity and the notification outbox.

export type RetrievalStrategy = 'None' | 'FreeTier' | 'BytesPerHour';

export interface DataRetrievalPolicyRecord {
  strategy: RetrievalStrategy;
  /** Only for the BytesPerHour strategy: 1 … 2^63−1, so a bigint (exact beyond 2^53). */
  bytesPerHour: bigint | null;
}

export interface CapacityUnitRecord {
  capacityId: string;
  accountId: string;
  region: string;
  startAt: number;
  expiresAt: number;
}

export type RetrievalTier = 'Expedited' | 'Standard' | 'Bulk';

/** What admission control sees, read in the same transaction that records an admitted retrieval. */
export interface AdmissionSnapshot {
  /** The account's policy in this region (None when never set). */
  policy: DataRetrievalPolicyRecord;
  /** Bytes of Standard retrievals admitted in (now − standardRateWindowMs, now]. */
  standardBytesInRateWindow: number;
  /** Bytes of Standard retrievals admitted in (now − 24 h, now]. */
  standardBytesLastDay: number;
  /** Expedited retrievals admitted in (now − expeditedWindowMs, now]. */
  expeditedInWindow: number;
  /** Provisioned capacity units not yet expired at `now`. */
  activeCapacityUnits: number;
}

export interface AdmissionRequest {
  accountId: string;
  region: string;
  tier: RetrievalTier;
  bytes: number;
  now: number;
  standardRateWindowMs: number;
  expeditedWindowMs: number;
}

export interface SettingsRepo {
  getRetrievalPolicy(accountId: string, region: string): Promise<DataRetrievalPolicyRecord | null>;
  setRetrievalPolicy(accountId: string, region: string, policy: DataRetrievalPolicyRecord, now: number): Promise<void>;
  /** Adds a unit unless `maxUnits` unexpired units already exist (then returns false). Locks: the account's capacity rows in the region. */
  purchaseCapacity(unit: CapacityUnitRecord, maxUnits: number): Promise<boolean>;
  /** Unexpired units at `now`, oldest first. */
  listCapacity(accountId: string, region: string, now: number): Promise<CapacityUnitRecord[]>;
  /**
   * One atomic admission decision: reads the snapshot, calls `decide` (pure, synchronous) and, if
   * it returns null, records the retrieval in the ledger. Returns what `decide` returned. Locks:
   * the account's policy, capacity and ledger rows in the region. InitiateJob does the same inside
   * JobRepo.create, so that the ledger row and the job are one unit.
   */
  admitRetrieval<E>(req: AdmissionRequest, decide: (s: AdmissionSnapshot) => E | null): Promise<E | null>;
}

export interface OutboxRecord {
  id: number;
  topicArn: string;
  /** The DescribeJob JSON of the completed job. */
  message: string;
  createdAt: number;
  nextAttemptAt: number;
  /** Attempts started so far, including the current one for a claimed row. */
  attempts: number;
  lastError: string | null;
  deliveredAt: number | null;
}

export interface OutboxRepo {
  /** Inserts notifications due now (the job system writes its rows inside its own transaction). */
  enqueue(items: { topicArn: string; message: string }[], now: number): Promise<void>;
  /**
   * Claims up to `limit` undelivered rows due at `now`: each gets attempts + 1 and a lease
   * (next_attempt_at = now + leaseMs), so that a worker that dies mid-delivery leaves the row to
   * be retried once the lease lapses, and two workers never deliver the same row at once.
   */
  claimDue(now: number, limit: number, leaseMs: number): Promise<OutboxRecord[]>;
  markDelivered(id: number, now: number): Promise<void>;
  markFailed(id: number, error: string, nextAttemptAt: number): Promise<void>;
  /** Earliest next_attempt_at of an undelivered row, or null when none is pending. */
  nextDueAt(): Promise<number | null>;
  get(id: number): Promise<OutboxRecord | null>;
  /** Undelivered rows. */
  pendingCount(): Promise<number>;
  /**
   * Makes every undelivered row due at `now` and returns how many. For start-up when this
   * process is the only one using the database (embedded mode): leases of a killed predecessor
   * are void, and a restart is the moment to retry what was backing off.
   */
  rescheduleAll(now: number): Promise<number>;
}

// ---------------------------------------------------------------------------------------------
// Archives, multipart uploads and blob references: the full repositories.

/** Which vaults a scrub covers: all, one account's, or the vaults of that name (in one account when both are given). */
export interface ScrubFilter {
  accountId?: string;
  vaultName?: string;
}

/** Where a scrubbed item lives. */
export interface VaultPlace {
  accountId: string;
  region: string;
  vaultName: string;
}

export interface ArchiveRepo extends ArchiveRepoContract {
  /** Live archives of the vaults the filter selects, in archive-id order after `afterArchiveId` (scrub). */
  listForScrub(filter: ScrubFilter, afterArchiveId: string | null, limit: number): Promise<(ArchiveRecord & VaultPlace)[]>;
  /** Live archives and their bytes in the vaults the filter selects. */
  scrubTotal(filter: ScrubFilter): Promise<{ count: number; bytes: number }>;
  /**
   * One transaction: the archive row, its leaves, the blob turned from pending to live (one
   * reference, held by the archive) and the vault counters (number_of_archives, size_in_bytes,
   * last_write_at). Locks: the vault row, the pending blob row. Throws VaultGoneError (writing
   * nothing) when the vault no longer exists, BlobLeaseLostError (writing nothing) when
   * `archive.blobKey` is not pending any more (its lease lapsed and the collector took it).
   */
  create(archive: ArchiveRecord, leaves: Buffer): Promise<void>;
  /**
   * Tombstones the archive, releases its blob and updates the vault counters. `already-deleted`
   * for a tombstoned archive of this vault, `not-found` for an id this vault never had.
   * Locks: the archive row, the vault row, the blob row.
   */
  delete(vaultId: number, archiveId: string, now: number): Promise<'deleted' | 'already-deleted' | 'not-found'>;
}

export type UploadState = 'active' | 'completed' | 'aborted' | 'expired';

export interface UploadRecord {
  uploadId: string;
  vaultId: number;
  partSize: number;
  /** null when no description was given (ListParts shows null). */
  description: string | null;
  createdAt: number;
  lastActivityAt: number;
  state: UploadState;
  finishedAt: number | null;
  /** Set once completed. */
  archiveId: string | null;
  archiveSize: number | null;
  treeHash: string | null;
}

export interface PartRecord {
  /** Range start / part size. */
  index: number;
  size: number;
  treeHash: string;
  blobKey: string;
}

export interface ScrubPart extends VaultPlace {
  uploadId: string;
  part: PartRecord;
  /** Packed 32-byte leaf digests of the part. */
  leaves: Buffer;
}

export interface UploadRepo {
  /** Parts of active uploads in the vaults the filter selects, in (upload id, index) order after `after` (scrub). */
  listPartsForScrub(filter: ScrubFilter, after: { uploadId: string; index: number } | null, limit: number): Promise<ScrubPart[]>;
  /** Parts of active uploads and their bytes in the vaults the filter selects. */
  scrubTotal(filter: ScrubFilter): Promise<{ count: number; bytes: number }>;
  /** Locks: the vault row. Throws VaultGoneError when the vault no longer exists. */
  create(u: { uploadId: string; vaultId: number; partSize: number; description: string | null; now: number }): Promise<void>;
  get(uploadId: string): Promise<UploadRecord | null>;
  /**
   * Active uploads of a vault with activity at or after `activeSince`, in upload-id (creation)
   * order, from `fromUploadId` inclusive.
   */
  listActive(vaultId: number, fromUploadId: string | null, activeSince: number, limit: number): Promise<UploadRecord[]>;
  /**
   * Records a part (a re-upload of the same range replaces the earlier one and releases its blob).
   * The new blob turns from pending to live (one reference, held by the part) in the same
   * transaction. `not-active` when the upload is no longer active (or was removed with its vault):
   * the new blob is then queued as garbage. Throws BlobLeaseLostError (writing nothing) when the
   * part's blob is not pending any more. Locks: the upload row, the part row, the blob rows.
   */
  putPart(uploadId: string, part: PartRecord, leaves: Buffer, now: number): Promise<'ok' | 'not-active'>;
  /** Parts by index, from `fromIndex` inclusive. */
  listParts(uploadId: string, fromIndex: number, limit: number): Promise<PartRecord[]>;
  /** Every part, by index (no leaves): what Complete validates. */
  allParts(uploadId: string): Promise<PartRecord[]>;
  /** The leaves of every part, in order (packed 32-byte digests per part). */
  partLeaves(uploadId: string): Promise<Buffer[]>;
  /**
   * One transaction: the manifest blob (`archive.blobKey`, pending until now) turned live with one
   * reference, held by the archive, whose members are the parts' blobs (their references pass
   * from the parts to the manifest), the archive row with the parts' leaves, the vault counters,
   * and the upload marked completed. `parts-changed` when the parts are no longer exactly
   * `partBlobKeys` (a part was re-uploaded meanwhile). Locks: the upload row and its parts, the
   * vault row (VaultGoneError when it is gone), the blob rows (BlobLeaseLostError when the
   * manifest is not pending any more).
   */
  complete(uploadId: string, archive: ArchiveRecord, partBlobKeys: string[], now: number): Promise<'ok' | 'not-active' | 'parts-changed'>;
  /** Marks an active upload aborted and releases its parts' blobs. */
  abort(uploadId: string, now: number): Promise<'aborted' | 'not-active'>;
  /** Expires uploads whose last activity is before `idleBefore`; releases their parts. Returns how many. */
  expireIdle(idleBefore: number, now: number, limit: number): Promise<number>;
  /** Forgets finished (completed, aborted, expired) uploads finished before `before`. */
  purgeFinished(before: number): Promise<number>;
}

/**
 * Blob lifecycle: pending → live → garbage → forgotten.
 * - `begin` records a *pending* blob (its writer `owner` and a lease) before its first byte is
 *   written, so that no process ever lists or deletes what another is writing.
 * - The unit that commits the row holding the blob (archives.create, uploads.putPart,
 *   uploads.complete, jobs.complete for an output) turns it *live* (refs = 1), and refuses with
 *   BlobLeaseLostError when the pending row is gone.
 * - A pending blob whose lease lapsed (its writer died or stalled) becomes *garbage*
 *   (`reapExpiredPending`), like a live blob whose last reference is released or a discarded one.
 * - The collector deletes garbage from the BlobStore (which removes an unfinished write too), then
 *   `forget`s it.
 * Leases are in domain time; each process renews its own (`renewPending`) while it writes.
 */
export interface BlobRepo extends BlobRefRepoContract {
  /** Records a pending blob, written by `owner`, reclaimable once `leaseUntil` has passed. */
  begin(blobKey: string, owner: string, leaseUntil: number): Promise<void>;
  /**
   * `begin` whose durability may come later: it resolves once the record is committed (this
   * process's sweeps see it, and a crash of the process keeps it), and `durable` resolves once it
   * would survive power loss too (rejects if that failed). The blob's bytes must not be published
   * under its key before `durable` resolves (BlobWriter.commit / BlobStore.put `after`), so that a
   * published blob is always known to the metadata. SQLite: a commit without fsync, then a WAL fsync
   * shared with other callers, off the main thread (an upload's body streams meanwhile).
   * PostgreSQL: `begin`, already durable.
   */
  beginDeferred(blobKey: string, owner: string, leaseUntil: number): Promise<{ durable: Promise<void> }>;
  /** Extends the lease of every pending blob of `owner` to `leaseUntil`; returns how many. */
  renewPending(owner: string, leaseUntil: number): Promise<number>;
  /**
   * Turns up to `limit` pending blobs whose lease ended before `now` into garbage, in one unit,
   * oldest first; returns how many. Embedded start-up passes +Infinity-like `now` (every writer is dead).
   */
  reapExpiredPending(now: number, limit: number): Promise<number>;
  /** Whether the metadata knows this blob (pending, live or queued as garbage). */
  known(blobKey: string): Promise<boolean>;
  /**
   * Turns a blob nobody will reference (a failed or lost commit; pending or never recorded) into
   * garbage so the collector removes it. A live blob is left alone.
   */
  discard(blobKey: string, now: number): Promise<void>;
  /** Blobs whose last reference is gone, oldest first. */
  garbage(limit: number): Promise<string[]>;
  /** Called once the BlobStore has deleted these. */
  forget(blobKeys: string[]): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Jobs: job rows, their queue and the notification outbox.

export type { JobRecord } from '../../domain/jobs.js';
import type { JobRecord, JobStatus } from '../../domain/jobs.js';

/** A job as InitiateJob stores it (queue bookkeeping and completion fields are the repo's). */
export type NewJob = Omit<
  JobRecord,
  'seq' | 'status' | 'statusMessage' | 'completedAt' | 'outputSize' | 'outputKey' | 'blobRetained' | 'expiresAt' | 'nextMarker'
>;

export interface JobListOptions {
  /** Return jobs created after this job (the previous page's Marker). */
  afterJobId: string | null;
  status: JobStatus | null;
  completed: boolean | null;
  limit: number;
  now: number;
}

export interface JobOutcome {
  status: 'Succeeded' | 'Failed';
  /**
   * The outbox rows to write in the completing transaction, one per destination (the caller
   * decides who is told and what: src/jobs/notifications.ts).
   */
  notifications?: { topicArn: string; message: string }[];
  statusMessage: string;
  completedAt: number;
  expiresAt: number;
  treeHash?: string | null;
  outputSize?: number | null;
  /**
   * A generated output (inventory): a pending blob of the BlobStore that the completing unit turns
   * live with one reference, held by the job until it expires (BlobLeaseLostError when the blob
   * is not pending any more). Each attempt writes its own blob.
   */
  outputKey?: string | null;
  nextMarker?: string | null;
  /**
   * Archive retrieval: pin the archive's blob for the output window, in the completing
   * transaction and only if the archive is still live then.
   */
  pin?: { archiveId: string; blobKey: string } | null;
  /** Leaf digests of the retrieved range (first leaf index, packed 32-byte digests). */
  leaves?: { firstLeaf: number; packed: Buffer } | null;
}

export interface ClaimedJob {
  job: JobRecord;
  /** Including this claim. */
  attempts: number;
}

/**
 * Who holds a job's queue entry: the worker that claimed it and the attempt number of that claim.
 * complete and retry act only while the entry is still claimed by exactly this claim, so a worker
 * whose lease lapsed (and whose job another worker took) changes nothing.
 */
export interface JobClaim {
  seq: number;
  workerId: string;
  attempts: number;
}

/** Admission control run inside JobRepo.create (see SettingsRepo.admitRetrieval). */
export interface Admission<E> {
  request: AdmissionRequest;
  decide: (s: AdmissionSnapshot) => E | null;
}

export interface JobRepo {
  /**
   * One unit: checks that the vault exists (else throws VaultGoneError), runs `admission` when
   * given (policy and capacity read, ledger row written; a rejection returns `{ rejected }` and
   * writes nothing), then inserts the job and its queue entry (due at `dueAt`). Locks: the vault
   * row, the account's policy, capacity and retrieval-ledger rows in the region. Holds: the
   * retrievals admitted in any window never exceed the policy, however many InitiateJobs run at
   * once; no job is created for a deleted vault; a ledger row exists iff its job was created.
   * The job's seq is never reused.
   */
  create<E>(job: NewJob, dueAt: number, admission?: Admission<E>): Promise<{ job: JobRecord } | { rejected: E }>;
  /** A job of this vault that has not expired, or null. */
  get(vaultId: number, jobId: string, now: number): Promise<JobRecord | null>;
  getByJobId(jobId: string): Promise<JobRecord | null>;
  /** Jobs of a vault in creation order; `markerFound` is false when afterJobId names no job. */
  list(vaultId: number, opts: JobListOptions): Promise<{ jobs: JobRecord[]; markerFound: boolean }>;
  /**
   * Claims up to `batch` due, unclaimed (or lease-lapsed) queue entries for `workerId` until
   * `now + leaseMs`. SQL backends do this with one UPDATE … RETURNING (PostgreSQL: FOR UPDATE SKIP LOCKED).
   */
  claimDue(now: number, workerId: string, leaseMs: number, batch: number): Promise<ClaimedJob[]>;
  /**
   * Completes a claimed job: updates the row, deletes its queue entry, turns the output blob live
   * and writes `outcome.notifications` to the outbox, in one transaction. Returns null (and
   * changes nothing) unless the queue entry is still held by `claim` (another worker took it
   * after the lease lapsed, completed it, or the vault was deleted), and 'archive-gone' (changing
   * nothing) when `outcome.pin` names an archive deleted meanwhile. Locks: the job's queue row,
   * the archive row and blob row of a pin, the output's pending blob row.
   */
  complete(claim: JobClaim, outcome: JobOutcome): Promise<JobRecord | null | 'archive-gone'>;
  /** Puts a claimed job back for another attempt at `dueAt`; false (no change) unless still held by `claim`. */
  retry(claim: JobClaim, dueAt: number, error: string): Promise<boolean>;
  /** Extends every lease `workerId` holds to `leaseUntil` (its heartbeat); returns how many. */
  renewClaims(workerId: string, leaseUntil: number): Promise<number>;
  /** Makes a queued job due now (test control). Returns false when it is not queued. */
  makeDue(seq: number, now: number): Promise<boolean>;
  /** Drops every lease (embedded mode at start-up: no other process shares the database). */
  releaseAllClaims(): Promise<void>;
  /** The earliest due time of an unclaimed queue entry or output expiry, or null. */
  nextWakeAt(now: number): Promise<number | null>;
  /**
   * Deletes up to `batch` jobs whose output window has ended and releases their blob references
   * (a pinned archive blob, a generated output) in the same transaction; returns them. Several
   * processes may run it at once: each job is deleted (and released) once.
   */
  expire(now: number, batch: number): Promise<JobRecord[]>;
  /** Leaf digests saved for a completed archive retrieval. */
  getLeaves(seq: number): Promise<{ firstLeaf: number; packed: Buffer } | null>;
  /**
   * Daily inventory mode: snapshots the counts of every vault written since its last snapshot and
   * whose last snapshot (or, for the first one, first upload) is at least `cadenceMs` old. Returns
   * how many were taken.
   */
  takeInventorySnapshots(now: number, cadenceMs: number): Promise<number>;
  /**
   * The vault's archives as of `asOf` (created by then and not deleted by then), in the order and
   * with the filters of ArchiveRepoContract.list: an inventory's contents.
   */
  listArchivesAsOf(vaultId: number, asOf: number, opts: ArchiveListOptions): Promise<ArchiveRecord[]>;
  /**
   * An archive of the vault even if it has been deleted (its tombstone): "A deleted archive can
   * still yield a successful InitiateJob; the job then fails" (DG api-initiate-job-post).
   */
  getArchiveEvenDeleted(vaultId: number, archiveId: string): Promise<ArchiveRecord | null>;
}
