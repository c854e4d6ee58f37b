import type { PgDb, Tx } from './db.js';
import type { PgBlobRepo } from './blobs.js';
import { VaultGoneError } from '../errors.js';
import type { ArchiveListOptions, ArchiveRecord, ArchiveRepo, ScrubFilter, VaultPlace } from '../types.js';

/** Leaves are stored in chunks of at most this many bytes (4096 leaves = 4 GiB of archive). */
export const LEAF_CHUNK_BYTES = 4096 * 32;

export interface ArchiveRow {
  id: number;
  vault_id: number;
  archive_id: string;
  size: number;
  tree_hash: string;
  description: string;
  created_at: number;
  blob_key: string;
  deleted_at: number | null;
}

export const ARCHIVE_COLUMNS = 'vault_id, archive_id, size, tree_hash, description, created_at, blob_key';

export const toArchive = (r: Omit<ArchiveRow, 'id' | 'deleted_at'>): ArchiveRecord => ({
  vaultId: r.vault_id,
  archiveId: r.archive_id,
  size: r.size,
  treeHash: r.tree_hash,
  description: r.description,
  createdAt: r.created_at,
  blobKey: r.blob_key,
});

/**
 * Appends the filters and the seek of an inventory page to `where`/`args`. The cursor is a row
 * value, `(created_at, archive_id) > ($t, $id)`, which PostgreSQL turns into an index seek on
 * (vault_id, created_at, archive_id): every page costs the same however deep into the vault it is.
 */
export function pageFilters(opts: ArchiveListOptions, where: string[], args: unknown[]): void {
  const arg = (v: unknown) => {
    args.push(v);
    return `$${args.length}`;
  };
  if (opts.startDate !== undefined) where.push(`created_at >= ${arg(opts.startDate)}::bigint`);
  if (opts.endDate !== undefined) where.push(`created_at < ${arg(opts.endDate)}::bigint`);
  if (opts.after) where.push(`(created_at, archive_id) > (${arg(opts.after.createdAt)}::bigint, ${arg(opts.after.archiveId)}::text COLLATE "C")`);
}

/** Parameters of a scrub filter (null: any). */
export const scrubArgs = (f: ScrubFilter) => [f.accountId ?? null, f.vaultName ?? null];

export class PgArchiveRepo implements ArchiveRepo {
  readonly #db: PgDb;
  readonly #blobs: PgBlobRepo;

  constructor(db: PgDb, blobs: PgBlobRepo) {
    this.#db = db;
    this.#blobs = blobs;
  }

  /**
   * Inserts the archive row and its leaves and bumps the vault counters; no blob row. The vault
   * row is locked (by this UPDATE, or earlier by the caller): VaultGoneError when it is gone.
   */
  async insertIn(c: Tx, a: ArchiveRecord, leafChunks: Buffer[]): Promise<void> {
    const bumped = await c.query(
      'UPDATE vaults SET number_of_archives = number_of_archives + 1, size_in_bytes = size_in_bytes + $1, last_write_at = GREATEST(COALESCE(last_write_at, 0), $2) WHERE id = $3',
      [a.size, a.createdAt, a.vaultId],
    );
    if (bumped.rowCount !== 1) throw new VaultGoneError(a.vaultId);
    const row = await c.query<{ id: number }>(
      `INSERT INTO archives (${ARCHIVE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
      [a.vaultId, a.archiveId, a.size, a.treeHash, a.description, a.createdAt, a.blobKey],
    );
    const id = row.rows[0]!.id;
    const chunks: Buffer[] = [];
    for (const chunk of leafChunks) {
      for (let off = 0; off < chunk.length; off += LEAF_CHUNK_BYTES) chunks.push(chunk.subarray(off, Math.min(chunk.length, off + LEAF_CHUNK_BYTES)));
    }
    for (let seq = 0; seq < chunks.length; seq++) {
      await c.query('INSERT INTO archive_leaves (archive_row, seq, leaves) VALUES ($1, $2, $3)', [id, seq, chunks[seq]]);
    }
  }

  async create(a: ArchiveRecord, leaves: Buffer) {
    await this.#db.tx(async (c) => {
      // Vault row first (lock order), then the pending blob.
      const vault = await c.query('SELECT 1 FROM vaults WHERE id = $1 FOR UPDATE', [a.vaultId]);
      if (vault.rowCount !== 1) throw new VaultGoneError(a.vaultId);
      await this.#blobs.commitPendingIn(c, a.blobKey, a.size, a.createdAt);
      await this.insertIn(c, a, [leaves]);
    });
  }

  async get(vaultId: number, archiveId: string) {
    const r = await this.#db.one<ArchiveRow>('SELECT * FROM archives WHERE archive_id = $1', [archiveId]);
    return r && r.vault_id === vaultId && r.deleted_at === null ? toArchive(r) : null;
  }

  async getLeaves(archiveId: string) {
    const chunks = await this.#db.rows<{ leaves: Buffer }>(
      'SELECT l.leaves FROM archive_leaves l JOIN archives a ON a.id = l.archive_row WHERE a.archive_id = $1 ORDER BY l.seq',
      [archiveId],
    );
    return chunks.length === 0 ? null : Buffer.concat(chunks.map((x) => x.leaves));
  }

  async list(vaultId: number, opts: ArchiveListOptions) {
    const args: unknown[] = [vaultId];
    const where = ['vault_id = $1', 'deleted_at IS NULL'];
    pageFilters(opts, where, args);
    args.push(opts.limit);
    const sql = `SELECT ${ARCHIVE_COLUMNS} FROM archives WHERE ${where.join(' AND ')} ORDER BY created_at, archive_id LIMIT $${args.length}`;
    return (await this.#db.rows<ArchiveRow>(sql, args)).map(toArchive);
  }

  async listForScrub(filter: ScrubFilter, afterArchiveId: string | null, limit: number): Promise<(ArchiveRecord & VaultPlace)[]> {
    const rows = await this.#db.rows<ArchiveRow & { account_id: string; region: string; vault_name: string }>(
      `SELECT a.*, v.account_id, v.region, v.name AS vault_name FROM archives a JOIN vaults v ON v.id = a.vault_id
        WHERE a.deleted_at IS NULL AND a.archive_id > $3 AND ($1::text IS NULL OR v.account_id = $1) AND ($2::text IS NULL OR v.name = $2)
        ORDER BY a.archive_id LIMIT $4`,
      [...scrubArgs(filter), afterArchiveId ?? '', limit],
    );
    return rows.map((r) => ({ ...toArchive(r), accountId: r.account_id, region: r.region, vaultName: r.vault_name }));
  }

  async scrubTotal(filter: ScrubFilter) {
    const r = await this.#db.one<{ count: number; bytes: number }>(
      `SELECT COUNT(*) AS count, COALESCE(SUM(a.size), 0)::bigint AS bytes FROM archives a JOIN vaults v ON v.id = a.vault_id
        WHERE a.deleted_at IS NULL AND ($1::text IS NULL OR v.account_id = $1) AND ($2::text IS NULL OR v.name = $2)`,
      scrubArgs(filter),
    );
    return r!;
  }

  async delete(vaultId: number, archiveId: string, now: number) {
    return this.#db.tx(async (c): Promise<'deleted' | 'already-deleted' | 'not-found'> => {
      // Vault row, then the archive row (the order vault deletion takes them in).
      await c.query('SELECT 1 FROM vaults WHERE id = $1 FOR UPDATE', [vaultId]);
      const r = (await c.query<ArchiveRow>('SELECT * FROM archives WHERE archive_id = $1 FOR UPDATE', [archiveId])).rows[0];
      if (!r || r.vault_id !== vaultId) return 'not-found';
      if (r.deleted_at !== null) return 'already-deleted';
      await c.query('UPDATE archives SET deleted_at = $1 WHERE id = $2', [now, r.id]);
      await c.query(
        'UPDATE vaults SET number_of_archives = number_of_archives - 1, size_in_bytes = size_in_bytes - $1, last_write_at = GREATEST(COALESCE(last_write_at, 0), $2) WHERE id = $3',
        [r.size, now, vaultId],
      );
      await this.#blobs.releaseIn(c, r.blob_key, now);
      return 'deleted';
    });
  }
}
