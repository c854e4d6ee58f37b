import type { SqliteDb } from './db.js';
import type { SqliteBlobRepo } from './blobs.js';
import type { SqliteSettingsRepo } from './settings.js';
import { VaultGoneError } from '../errors.js';
import { toArchive, type ArchiveRow } from './archives.js';
import type { InProcessSignals } from './signals.js';
import type { Admission, ArchiveListOptions, ArchiveRecord, ClaimedJob, JobClaim, JobListOptions, JobOutcome, JobRecord, JobRepo, NewJob } from '../types.js';
import type { JobAction, JobStatus, Tier, InventoryFormat } from '../../../domain/jobs.js';

interface JobRow {
  seq: number;
  job_id: string;
  vault_id: number;
  vault_arn: string;
  action: string;
  description: string | null;
  sns_topic: string | null;
  tier: string | null;
  archive_id: string | null;
  archive_size: number | null;
  archive_tree_hash: string | null;
  archive_description: string | null;
  blob_key: string | null;
  range_start: number | null;
  range_end: number | null;
  range_explicit: number;
  tree_hash: string | null;
  inv_format: string | null;
  inv_start_date: string | null;
  inv_end_date: string | null;
  inv_limit: string | null;
  inv_marker: string | null;
  inv_next_marker: string | null;
  status: string;
  status_message: string;
  created_at: number;
  completed_at: number | null;
  output_size: number | null;
  output_key: string | null;
  blob_retained: number;
  expires_at: number | null;
  /** 1 when output_key is a blob holding one reference (migration 008). */
  output_blob: number;
}

function toJob(r: JobRow): JobRecord {
  return {
    seq: r.seq,
    jobId: r.job_id,
    vaultId: r.vault_id,
    vaultArn: r.vault_arn,
    action: r.action as JobAction,
    description: r.description,
    snsTopic: r.sns_topic,
    tier: r.tier as Tier | null,
    archiveId: r.archive_id,
    archiveSize: r.archive_size,
    archiveTreeHash: r.archive_tree_hash,
    archiveDescription: r.archive_description,
    blobKey: r.blob_key,
    rangeStart: r.range_start,
    rangeEnd: r.range_end,
    rangeExplicit: r.range_explicit === 1,
    treeHash: r.tree_hash,
    inventory:
      r.inv_format === null
        ? null
        : { format: r.inv_format as InventoryFormat, startDate: r.inv_start_date, endDate: r.inv_end_date, limit: r.inv_limit, marker: r.inv_marker },
    nextMarker: r.inv_next_marker,
    status: r.status as JobStatus,
    statusMessage: r.status_message,
    createdAt: r.created_at,
    completedAt: r.completed_at,
    outputSize: r.output_size,
    outputKey: r.output_key,
    blobRetained: r.blob_retained === 1,
    expiresAt: r.expires_at,
  };
}

/**
 * Jobs, their queue and the outbox rows written at completion. Every method is one transaction.
 * Claiming is one UPDATE … RETURNING over the due entries (the PostgreSQL twin adds
 * FOR UPDATE SKIP LOCKED to the inner SELECT). A claim is (claimed_by, attempts): complete and
 * retry act only while the queue row still carries exactly the caller's.
 */
export class SqliteJobRepo implements JobRepo {
  readonly #db: SqliteDb;
  readonly #blobs: SqliteBlobRepo;
  readonly #settings: SqliteSettingsRepo;
  readonly #signals: InProcessSignals;
  readonly #s;

  /**
   * Takes the blob repository so pins and releases share the job's transaction, and the settings
   * repository so that admission control and the job row share InitiateJob's.
   */
  constructor(db: SqliteDb, blobs: SqliteBlobRepo, settings: SqliteSettingsRepo, signals: InProcessSignals) {
    this.#db = db;
    this.#blobs = blobs;
    this.#settings = settings;
    this.#signals = signals;
    this.#s = {
      nextSeq: db.prepare("UPDATE id_sequences SET last_id = last_id + 1 WHERE name = 'jobs' RETURNING last_id"),
      vaultExists: db.prepare('SELECT 1 FROM vaults WHERE id = ?'),
      insert: db.prepare(`INSERT INTO jobs (seq, job_id, vault_id, vault_arn, action, description, sns_topic, tier, archive_id, archive_size,
          archive_tree_hash, archive_description, blob_key, range_start, range_end, range_explicit, tree_hash, inv_format, inv_start_date,
          inv_end_date, inv_limit, inv_marker, created_at)
        VALUES (@seq, @jobId, @vaultId, @vaultArn, @action, @description, @snsTopic, @tier, @archiveId, @archiveSize, @archiveTreeHash,
          @archiveDescription, @blobKey, @rangeStart, @rangeEnd, @rangeExplicit, @treeHash, @invFormat, @invStartDate, @invEndDate,
          @invLimit, @invMarker, @createdAt)`),
      enqueue: db.prepare('INSERT INTO job_queue (job_seq, due_at) VALUES (?, ?)'),
      bySeq: db.prepare('SELECT * FROM jobs WHERE seq = ?'),
      byJobId: db.prepare('SELECT * FROM jobs WHERE job_id = ?'),
      get: db.prepare('SELECT * FROM jobs WHERE vault_id = ? AND job_id = ? AND (expires_at IS NULL OR expires_at > ?)'),
      markerSeq: db.prepare('SELECT seq FROM jobs WHERE vault_id = ? AND job_id = ?'),
      list: db.prepare(`SELECT * FROM jobs WHERE vault_id = @vaultId AND seq > @after AND (expires_at IS NULL OR expires_at > @now)
          AND (@status IS NULL OR status = @status)
          AND (@completed IS NULL OR (status <> 'InProgress') = @completed)
        ORDER BY seq LIMIT @limit`),
      claim: db.prepare(`UPDATE job_queue SET claimed_until = @until, claimed_by = @worker, attempts = attempts + 1
        WHERE job_seq IN (SELECT job_seq FROM job_queue WHERE due_at <= @now AND (claimed_until IS NULL OR claimed_until <= @now)
          ORDER BY due_at, job_seq LIMIT @batch)
        RETURNING job_seq, attempts`),
      held: db.prepare('SELECT 1 FROM job_queue WHERE job_seq = ? AND claimed_by = ? AND attempts = ?'),
      dequeue: db.prepare('DELETE FROM job_queue WHERE job_seq = ?'),
      finish: db.prepare(`UPDATE jobs SET status = @status, status_message = @statusMessage, completed_at = @completedAt,
          expires_at = @expiresAt, tree_hash = COALESCE(@treeHash, tree_hash), output_size = @outputSize, output_key = @outputKey,
          inv_next_marker = @nextMarker, blob_retained = @blobRetained, output_blob = @outputBlob
        WHERE seq = @seq`),
      putLeaves: db.prepare('INSERT OR REPLACE INTO job_leaves (job_seq, first_leaf, leaves) VALUES (?, ?, ?)'),
      getLeaves: db.prepare('SELECT first_leaf, leaves FROM job_leaves WHERE job_seq = ?'),
      outbox: db.prepare('INSERT INTO notification_outbox (topic_arn, message, created_at, next_attempt_at) VALUES (?, ?, ?, ?)'),
      retry: db.prepare(
        'UPDATE job_queue SET due_at = ?, last_error = ?, claimed_until = NULL, claimed_by = NULL WHERE job_seq = ? AND claimed_by = ? AND attempts = ?',
      ),
      renew: db.prepare('UPDATE job_queue SET claimed_until = ? WHERE claimed_by = ?'),
      makeDue: db.prepare('UPDATE job_queue SET due_at = ?, claimed_until = NULL, claimed_by = NULL WHERE job_seq = ?'),
      releaseAll: db.prepare('UPDATE job_queue SET claimed_until = NULL, claimed_by = NULL WHERE claimed_until IS NOT NULL'),
      nextDue: db.prepare('SELECT MIN(COALESCE(claimed_until, due_at)) AS t FROM job_queue'),
      nextExpiry: db.prepare('SELECT MIN(expires_at) AS t FROM jobs WHERE expires_at IS NOT NULL'),
      expired: db.prepare('SELECT * FROM jobs WHERE expires_at IS NOT NULL AND expires_at <= ? ORDER BY expires_at LIMIT ?'),
      delete: db.prepare('DELETE FROM jobs WHERE seq = ?'),
      archiveLive: db.prepare('SELECT 1 FROM archives WHERE vault_id = ? AND archive_id = ? AND deleted_at IS NULL'),
      archiveAny: db.prepare(
        'SELECT vault_id, archive_id, size, tree_hash, description, created_at, blob_key FROM archives WHERE vault_id = ? AND archive_id = ?',
      ),
      asOf: db.prepare(`SELECT vault_id, archive_id, size, tree_hash, description, created_at, blob_key FROM archives
        WHERE vault_id = @vaultId AND created_at <= @asOf AND (deleted_at IS NULL OR deleted_at > @asOf)
          AND (@start IS NULL OR created_at >= @start) AND (@end IS NULL OR created_at < @end)
          AND (created_at, archive_id) > (@afterT, @afterId)
        ORDER BY created_at, archive_id LIMIT @limit`),
      snapshot: db.prepare(`UPDATE vaults SET last_inventory_at = @now, inventory_number_of_archives = number_of_archives,
          inventory_size_in_bytes = size_in_bytes
        WHERE last_write_at IS NOT NULL AND (last_inventory_at IS NULL OR last_write_at >= last_inventory_at)
          AND COALESCE(last_inventory_at, (SELECT MIN(a.created_at) FROM archives a WHERE a.vault_id = vaults.id), last_write_at) + @cadence <= @now`),
    };
  }

  async create<E>(job: NewJob, dueAt: number, admission?: Admission<E>): Promise<{ job: JobRecord } | { rejected: E }> {
    const r = this.#db.transaction((): { job: JobRecord } | { rejected: E } => {
      // The vault row is read in this (IMMEDIATE) transaction: DeleteVault, which removes the
      // vault's jobs in its own, cannot leave this one behind.
      if (!this.#s.vaultExists.get(job.vaultId)) throw new VaultGoneError(job.vaultId);
      if (admission) {
        const rejected = this.#settings.admitSync(admission.request, admission.decide);
        if (rejected !== null) return { rejected };
      }
      // Never MAX(seq) + 1: an engine still holding a deleted job's seq must not complete a new job.
      const { last_id: seq } = this.#s.nextSeq.get() as { last_id: number };
      this.#s.insert.run({
        seq,
        jobId: job.jobId,
        vaultId: job.vaultId,
        vaultArn: job.vaultArn,
        action: job.action,
        description: job.description,
        snsTopic: job.snsTopic,
        tier: job.tier,
        archiveId: job.archiveId,
        archiveSize: job.archiveSize,
        archiveTreeHash: job.archiveTreeHash,
        archiveDescription: job.archiveDescription,
        blobKey: job.blobKey,
        rangeStart: job.rangeStart,
        rangeEnd: job.rangeEnd,
        rangeExplicit: job.rangeExplicit ? 1 : 0,
        treeHash: job.treeHash,
        invFormat: job.inventory?.format ?? null,
        invStartDate: job.inventory?.startDate ?? null,
        invEndDate: job.inventory?.endDate ?? null,
        invLimit: job.inventory?.limit ?? null,
        invMarker: job.inventory?.marker ?? null,
        createdAt: job.createdAt,
      });
      this.#s.enqueue.run(seq, dueAt);
      return { job: toJob(this.#s.bySeq.get(seq) as JobRow) };
    }).immediate();
    if ('job' in r) this.#signals.emit('jobs');
    return r;
  }

  async get(vaultId: number, jobId: string, now: number) {
    const r = this.#s.get.get(vaultId, jobId, now) as JobRow | undefined;
    return r ? toJob(r) : null;
  }

  async getByJobId(jobId: string) {
    const r = this.#s.byJobId.get(jobId) as JobRow | undefined;
    return r ? toJob(r) : null;
  }

  async list(vaultId: number, o: JobListOptions) {
    let after = 0;
    if (o.afterJobId !== null) {
      const m = this.#s.markerSeq.get(vaultId, o.afterJobId) as { seq: number } | undefined;
      if (!m) return { jobs: [], markerFound: false };
      after = m.seq;
    }
    const rows = this.#s.list.all({
      vaultId,
      after,
      now: o.now,
      status: o.status,
      completed: o.completed === null ? null : o.completed ? 1 : 0,
      limit: o.limit,
    }) as JobRow[];
    return { jobs: rows.map(toJob), markerFound: true };
  }

  async claimDue(now: number, workerId: string, leaseMs: number, batch: number): Promise<ClaimedJob[]> {
    return this.#db.transaction(() => {
      const claimed = this.#s.claim.all({ until: now + leaseMs, worker: workerId, now, batch }) as { job_seq: number; attempts: number }[];
      return claimed
        .sort((a, b) => a.job_seq - b.job_seq)
        .map((c) => ({ job: toJob(this.#s.bySeq.get(c.job_seq) as JobRow), attempts: c.attempts }));
    }).immediate();
  }

  async complete(claim: JobClaim, o: JobOutcome): Promise<JobRecord | null | 'archive-gone'> {
    const seq = claim.seq;
    const notifications = o.notifications ?? [];
    const r = this.#db.transaction((): JobRecord | null | 'archive-gone' => {
      // Held by exactly this claim: not completed, not removed with its vault, and not taken over
      // by another worker (or another attempt) after this one's lease lapsed.
      if (!this.#s.held.get(seq, claim.workerId, claim.attempts)) return null;
      if (o.pin) {
        const vaultId = (this.#s.bySeq.get(seq) as JobRow).vault_id;
        // Checked and pinned in one transaction: DeleteArchive cannot slip in between.
        if (!this.#s.archiveLive.get(vaultId, o.pin.archiveId)) return 'archive-gone';
        this.#blobs.retainSync(o.pin.blobKey);
      }
      // The generated output turns live, held by the job (BlobLeaseLostError rolls everything back).
      if (o.outputKey) this.#blobs.commitPendingSync(o.outputKey, o.outputSize ?? 0, o.completedAt);
      this.#s.finish.run({
        seq,
        status: o.status,
        statusMessage: o.statusMessage,
        completedAt: o.completedAt,
        expiresAt: o.expiresAt,
        treeHash: o.treeHash ?? null,
        outputSize: o.outputSize ?? null,
        outputKey: o.outputKey ?? null,
        nextMarker: o.nextMarker ?? null,
        blobRetained: o.pin ? 1 : 0,
        outputBlob: o.outputKey ? 1 : 0,
      });
      if (o.leaves) this.#s.putLeaves.run(seq, o.leaves.firstLeaf, o.leaves.packed);
      this.#s.dequeue.run(seq);
      for (const n of notifications) this.#s.outbox.run(n.topicArn, n.message, o.completedAt, o.completedAt);
      return toJob(this.#s.bySeq.get(seq) as JobRow);
    }).immediate();
    if (r !== null && r !== 'archive-gone' && notifications.length > 0) this.#signals.emit('outbox');
    return r;
  }

  async retry(claim: JobClaim, dueAt: number, error: string) {
    const done = this.#s.retry.run(dueAt, error.slice(0, 2000), claim.seq, claim.workerId, claim.attempts).changes > 0;
    if (done) this.#signals.emit('jobs');
    return done;
  }

  async renewClaims(workerId: string, leaseUntil: number) {
    return this.#s.renew.run(leaseUntil, workerId).changes;
  }

  async makeDue(seq: number, now: number) {
    const done = this.#s.makeDue.run(now, seq).changes > 0;
    if (done) this.#signals.emit('jobs');
    return done;
  }

  async releaseAllClaims() {
    this.#s.releaseAll.run();
  }

  async nextWakeAt(_now: number) {
    const a = (this.#s.nextDue.get() as { t: number | null }).t;
    const b = (this.#s.nextExpiry.get() as { t: number | null }).t;
    if (a === null) return b;
    if (b === null) return a;
    return Math.min(a, b);
  }

  async expire(now: number, batch: number) {
    return this.#db.transaction(() => {
      const raw = this.#s.expired.all(now, batch) as JobRow[];
      const outputBlobs = new Set(raw.filter((r) => r.output_blob === 1).map((r) => r.seq));
      const rows = raw.map(toJob);
      for (const j of rows) {
        this.#s.delete.run(j.seq);
        if (j.blobRetained && j.blobKey) this.#blobs.releaseSync(j.blobKey, now);
        if (outputBlobs.has(j.seq) && j.outputKey) this.#blobs.releaseSync(j.outputKey, now);
      }
      return rows;
    }).immediate();
  }

  async getLeaves(seq: number) {
    const r = this.#s.getLeaves.get(seq) as { first_leaf: number; leaves: Buffer } | undefined;
    return r ? { firstLeaf: r.first_leaf, packed: r.leaves } : null;
  }

  async listArchivesAsOf(vaultId: number, asOf: number, opts: ArchiveListOptions): Promise<ArchiveRecord[]> {
    const r = this.#s.asOf.all({
      vaultId,
      asOf,
      start: opts.startDate ?? null,
      end: opts.endDate ?? null,
      // A row value with a floor instead of `@afterT IS NULL OR a > @afterT OR (…)`: only the row
      // value lets SQLite seek the index, the OR form re-scans the vault on every page (1M
      // archives: 109 ms vs 2 ms per page at the midpoint).
      afterT: opts.after?.createdAt ?? Number.MIN_SAFE_INTEGER,
      afterId: opts.after?.archiveId ?? '',
      limit: opts.limit,
    }) as ArchiveRow[];
    return r.map(toArchive);
  }

  async getArchiveEvenDeleted(vaultId: number, archiveId: string): Promise<ArchiveRecord | null> {
    const a = this.#s.archiveAny.get(vaultId, archiveId) as ArchiveRow | undefined;
    return a ? toArchive(a) : null;
  }

  async takeInventorySnapshots(now: number, cadenceMs: number) {
    return this.#s.snapshot.run({ now, cadence: cadenceMs }).changes;
  }
}
