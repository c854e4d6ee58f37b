import type { PgDb, Tx } from './db.js';
import type { PgBlobRepo } from './blobs.js';
import type { PgSettingsRepo } from './settings.js';
import { lockVault } from './vaults.js';
import { notify } from './signals.js';
import { VaultGoneError } from '../errors.js';
import { ARCHIVE_COLUMNS, pageFilters, toArchive, type ArchiveRow } from './archives.js';
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
  range_explicit: boolean;
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
  blob_retained: boolean;
  /** output_key names a blob on which the job holds one reference. */
  output_blob: boolean;
  expires_at: number | null;
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
    rangeExplicit: r.range_explicit,
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
    blobRetained: r.blob_retained,
    expiresAt: r.expires_at,
  };
}

/**
 * Jobs, their queue and the outbox rows written at completion; every method is one transaction.
 * Claims are one UPDATE over the due entries picked with FOR UPDATE SKIP LOCKED, so workers in any
 * number of processes never wait on each other nor claim one entry twice. A claim is
 * (claimed_by, attempts): complete and retry lock the queue row and act only while it still
 * carries exactly the caller's.
 */
export class PgJobRepo implements JobRepo {
  readonly #db: PgDb;
  readonly #blobs: PgBlobRepo;
  readonly #settings: PgSettingsRepo;

  constructor(db: PgDb, blobs: PgBlobRepo, settings: PgSettingsRepo) {
    this.#db = db;
    this.#blobs = blobs;
    this.#settings = settings;
  }

  async create<E>(job: NewJob, dueAt: number, admission?: Admission<E>): Promise<{ job: JobRecord } | { rejected: E }> {
    return this.#db.tx(async (c): Promise<{ job: JobRecord } | { rejected: E }> => {
      // FOR SHARE on the vault row: DeleteVault (FOR UPDATE) either waits for this job or removes the vault first.
      if (!(await lockVault(c, job.vaultId, 'SHARE'))) throw new VaultGoneError(job.vaultId);
      if (admission) {
        const rejected = await this.#settings.admitIn(c, admission.request, admission.decide);
        if (rejected !== null) return { rejected };
      }
      const r = await c.query<JobRow>(
        `INSERT INTO jobs (seq, job_id, vault_id, vault_arn, action, description, sns_topic, tier, archive_id, archive_size,
            archive_tree_hash, archive_description, blob_key, range_start, range_end, range_explicit, tree_hash, inv_format, inv_start_date,
            inv_end_date, inv_limit, inv_marker, created_at)
          VALUES (nextval('job_seqs'), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)
          RETURNING *`,
        [
          job.jobId,
          job.vaultId,
          job.vaultArn,
          job.action,
          job.description,
          job.snsTopic,
          job.tier,
          job.archiveId,
          job.archiveSize,
          job.archiveTreeHash,
          job.archiveDescription,
          job.blobKey,
          job.rangeStart,
          job.rangeEnd,
          job.rangeExplicit,
          job.treeHash,
          job.inventory?.format ?? null,
          job.inventory?.startDate ?? null,
          job.inventory?.endDate ?? null,
          job.inventory?.limit ?? null,
          job.inventory?.marker ?? null,
          job.createdAt,
        ],
      );
      const row = r.rows[0]!;
      await c.query('INSERT INTO job_queue (job_seq, due_at) VALUES ($1, $2)', [row.seq, dueAt]);
      await notify(c, this.#db.schema, 'jobs');
      return { job: toJob(row) };
    });
  }

  async get(vaultId: number, jobId: string, now: number) {
    const r = await this.#db.one<JobRow>('SELECT * FROM jobs WHERE vault_id = $1 AND job_id = $2 AND (expires_at IS NULL OR expires_at > $3)', [vaultId, jobId, now]);
    return r ? toJob(r) : null;
  }

  async getByJobId(jobId: string) {
    const r = await this.#db.one<JobRow>('SELECT * FROM jobs WHERE job_id = $1', [jobId]);
    return r ? toJob(r) : null;
  }

  async list(vaultId: number, o: JobListOptions) {
    let after = 0;
    if (o.afterJobId !== null) {
      const m = await this.#db.one<{ seq: number }>('SELECT seq FROM jobs WHERE vault_id = $1 AND job_id = $2', [vaultId, o.afterJobId]);
      if (!m) return { jobs: [], markerFound: false };
      after = m.seq;
    }
    const rows = await this.#db.rows<JobRow>(
      `SELECT * FROM jobs WHERE vault_id = $1 AND seq > $2 AND (expires_at IS NULL OR expires_at > $3)
          AND ($4::text IS NULL OR status = $4)
          AND ($5::boolean IS NULL OR (status <> 'InProgress') = $5)
        ORDER BY seq LIMIT $6`,
      [vaultId, after, o.now, o.status, o.completed, o.limit],
    );
    return { jobs: rows.map(toJob), markerFound: true };
  }

  async claimDue(now: number, workerId: string, leaseMs: number, batch: number): Promise<ClaimedJob[]> {
    return this.#db.tx(async (c) => {
      const claimed = await c.query<{ job_seq: number; attempts: number }>(
        `UPDATE job_queue SET claimed_until = $1, claimed_by = $2, attempts = attempts + 1
          WHERE job_seq IN (SELECT job_seq FROM job_queue WHERE due_at <= $3 AND (claimed_until IS NULL OR claimed_until <= $3)
            ORDER BY due_at, job_seq LIMIT $4 FOR UPDATE SKIP LOCKED)
          RETURNING job_seq, attempts`,
        [now + leaseMs, workerId, now, batch],
      );
      if (claimed.rows.length === 0) return [];
      const attempts = new Map(claimed.rows.map((r) => [r.job_seq, r.attempts]));
      const jobs = await c.query<JobRow>('SELECT * FROM jobs WHERE seq = ANY($1::bigint[]) ORDER BY seq', [[...attempts.keys()]]);
      return jobs.rows.map((r) => ({ job: toJob(r), attempts: attempts.get(r.seq)! }));
    });
  }

  async complete(claim: JobClaim, o: JobOutcome): Promise<JobRecord | null | 'archive-gone'> {
    const seq = claim.seq;
    const notifications = o.notifications ?? [];
    return this.#db.tx(async (c): Promise<JobRecord | null | 'archive-gone'> => {
      // Lock order: the job row (as vault deletion and expiry take it), then its queue row.
      const job = (await c.query<JobRow>('SELECT * FROM jobs WHERE seq = $1 FOR UPDATE', [seq])).rows[0];
      if (!job) return null;
      // Held by exactly this claim: not completed, not removed with its vault, and not taken over
      // by another worker (or another attempt) after this one's lease lapsed.
      const held = await c.query('SELECT 1 FROM job_queue WHERE job_seq = $1 AND claimed_by = $2 AND attempts = $3 FOR UPDATE', [seq, claim.workerId, claim.attempts]);
      if (held.rowCount !== 1) return null;
      if (o.pin) {
        // Checked and pinned in one transaction, with the archive row locked: DeleteArchive cannot slip in.
        const live = await c.query('SELECT 1 FROM archives WHERE vault_id = $1 AND archive_id = $2 AND deleted_at IS NULL FOR UPDATE', [job.vault_id, o.pin.archiveId]);
        if (live.rowCount !== 1) return 'archive-gone';
        await this.#blobs.retainIn(c, o.pin.blobKey);
      }
      // The generated output turns live, held by the job (BlobLeaseLostError rolls everything back).
      if (o.outputKey) await this.#blobs.commitPendingIn(c, o.outputKey, o.outputSize ?? 0, o.completedAt);
      const r = await c.query<JobRow>(
        `UPDATE jobs SET status = $2, status_message = $3, completed_at = $4, expires_at = $5, tree_hash = COALESCE($6, tree_hash),
            output_size = $7, output_key = $8, inv_next_marker = $9, blob_retained = $10, output_blob = $11
          WHERE seq = $1 RETURNING *`,
        [seq, o.status, o.statusMessage, o.completedAt, o.expiresAt, o.treeHash ?? null, o.outputSize ?? null, o.outputKey ?? null, o.nextMarker ?? null, !!o.pin, !!o.outputKey],
      );
      if (o.leaves) {
        await c.query(
          'INSERT INTO job_leaves (job_seq, first_leaf, leaves) VALUES ($1, $2, $3) ON CONFLICT (job_seq) DO UPDATE SET first_leaf = excluded.first_leaf, leaves = excluded.leaves',
          [seq, o.leaves.firstLeaf, o.leaves.packed],
        );
      }
      await c.query('DELETE FROM job_queue WHERE job_seq = $1', [seq]);
      if (notifications.length > 0) {
        await c.query(
          'INSERT INTO notification_outbox (topic_arn, message, created_at, next_attempt_at) SELECT t, m, $3, $3 FROM unnest($1::text[], $2::text[]) AS x(t, m)',
          [notifications.map((n) => n.topicArn), notifications.map((n) => n.message), o.completedAt],
        );
        await notify(c, this.#db.schema, 'outbox');
      }
      return toJob(r.rows[0]!);
    });
  }

  async retry(claim: JobClaim, dueAt: number, error: string) {
    return this.#db.tx(async (c) => {
      const r = await c.query(
        'UPDATE job_queue SET due_at = $1, last_error = $2, claimed_until = NULL, claimed_by = NULL WHERE job_seq = $3 AND claimed_by = $4 AND attempts = $5',
        [dueAt, error.slice(0, 2000), claim.seq, claim.workerId, claim.attempts],
      );
      if (r.rowCount !== 1) return false;
      await notify(c, this.#db.schema, 'jobs');
      return true;
    });
  }

  async renewClaims(workerId: string, leaseUntil: number) {
    return (await this.#db.query('UPDATE job_queue SET claimed_until = $1 WHERE claimed_by = $2', [leaseUntil, workerId])).rowCount ?? 0;
  }

  async makeDue(seq: number, now: number) {
    return this.#db.tx(async (c) => {
      const r = await c.query('UPDATE job_queue SET due_at = $1, claimed_until = NULL, claimed_by = NULL WHERE job_seq = $2', [now, seq]);
      if (r.rowCount !== 1) return false;
      await notify(c, this.#db.schema, 'jobs');
      return true;
    });
  }

  async releaseAllClaims() {
    await this.#db.query('UPDATE job_queue SET claimed_until = NULL, claimed_by = NULL WHERE claimed_until IS NOT NULL');
  }

  async nextWakeAt(_now: number) {
    const r = await this.#db.one<{ a: number | null; b: number | null }>(
      'SELECT (SELECT MIN(COALESCE(claimed_until, due_at)) FROM job_queue) AS a, (SELECT MIN(expires_at) FROM jobs WHERE expires_at IS NOT NULL) AS b',
    );
    const { a, b } = r!;
    if (a === null) return b;
    if (b === null) return a;
    return Math.min(a, b);
  }

  async expire(now: number, batch: number) {
    return this.#db.tx(async (c) => {
      // SKIP LOCKED: several processes expiring at once each take different jobs, and each job is released once.
      const raw = (
        await c.query<JobRow>('SELECT * FROM jobs WHERE expires_at IS NOT NULL AND expires_at <= $1 ORDER BY expires_at, seq LIMIT $2 FOR UPDATE SKIP LOCKED', [now, batch])
      ).rows;
      for (const r of raw) {
        await c.query('DELETE FROM jobs WHERE seq = $1', [r.seq]);
        if (r.blob_retained && r.blob_key) await this.#blobs.releaseIn(c, r.blob_key, now);
        if (r.output_blob && r.output_key) await this.#blobs.releaseIn(c, r.output_key, now);
      }
      return raw.map(toJob);
    });
  }

  async getLeaves(seq: number) {
    const r = await this.#db.one<{ first_leaf: number; leaves: Buffer }>('SELECT first_leaf, leaves FROM job_leaves WHERE job_seq = $1', [seq]);
    return r ? { firstLeaf: r.first_leaf, packed: r.leaves } : null;
  }

  async listArchivesAsOf(vaultId: number, asOf: number, opts: ArchiveListOptions): Promise<ArchiveRecord[]> {
    const args: unknown[] = [vaultId, asOf];
    const where = ['vault_id = $1', 'created_at <= $2', '(deleted_at IS NULL OR deleted_at > $2)'];
    pageFilters(opts, where, args);
    args.push(opts.limit);
    const sql = `SELECT ${ARCHIVE_COLUMNS} FROM archives WHERE ${where.join(' AND ')} ORDER BY created_at, archive_id LIMIT $${args.length}`;
    return (await this.#db.rows<ArchiveRow>(sql, args)).map(toArchive);
  }

  async getArchiveEvenDeleted(vaultId: number, archiveId: string): Promise<ArchiveRecord | null> {
    const a = await this.#db.one<ArchiveRow>(`SELECT ${ARCHIVE_COLUMNS} FROM archives WHERE vault_id = $1 AND archive_id = $2`, [vaultId, archiveId]);
    return a ? toArchive(a) : null;
  }

  async takeInventorySnapshots(now: number, cadenceMs: number) {
    const r = await this.#db.query(
      `UPDATE vaults SET last_inventory_at = $1, inventory_number_of_archives = number_of_archives, inventory_size_in_bytes = size_in_bytes
        WHERE last_write_at IS NOT NULL AND (last_inventory_at IS NULL OR last_write_at >= last_inventory_at)
          AND COALESCE(last_inventory_at, (SELECT MIN(a.created_at) FROM archives a WHERE a.vault_id = vaults.id), last_write_at) + $2 <= $1`,
      [now, cadenceMs],
    );
    return r.rowCount ?? 0;
  }
}
