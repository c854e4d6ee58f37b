import type { PgDb, Tx } from './db.js';
import type { PgBlobRepo } from './blobs.js';
import { scrubArgs, type PgArchiveRepo } from './archives.js';
import { lockVault } from './vaults.js';
import { VaultGoneError } from '../errors.js';
import type { ArchiveRecord, PartRecord, ScrubFilter, ScrubPart, UploadRecord, UploadRepo, UploadState } from '../types.js';

interface UploadRow {
  id: number;
  upload_id: string;
  vault_id: number;
  part_size: number;
  description: string | null;
  created_at: number;
  last_activity_at: number;
  state: UploadState;
  finished_at: number | null;
  archive_id: string | null;
  archive_size: number | null;
  tree_hash: string | null;
}

interface PartRow {
  part_index: number;
  size: number;
  tree_hash: string;
  blob_key: string;
}

const toUpload = (r: UploadRow): UploadRecord => ({
  uploadId: r.upload_id,
  vaultId: r.vault_id,
  partSize: r.part_size,
  description: r.description,
  createdAt: r.created_at,
  lastActivityAt: r.last_activity_at,
  state: r.state,
  finishedAt: r.finished_at,
  archiveId: r.archive_id,
  archiveSize: r.archive_size,
  treeHash: r.tree_hash,
});

const toPart = (r: PartRow): PartRecord => ({ index: r.part_index, size: r.size, treeHash: r.tree_hash, blobKey: r.blob_key });

const PART_COLUMNS = 'part_index, size, tree_hash, blob_key';
const FINISH = "UPDATE uploads SET state = $1, finished_at = $2, archive_id = $3, archive_size = $4, tree_hash = $5 WHERE id = $6 AND state = 'active'";

export class PgUploadRepo implements UploadRepo {
  readonly #db: PgDb;
  readonly #blobs: PgBlobRepo;
  readonly #archives: PgArchiveRepo;

  constructor(db: PgDb, blobs: PgBlobRepo, archives: PgArchiveRepo) {
    this.#db = db;
    this.#blobs = blobs;
    this.#archives = archives;
  }

  async #lockUpload(c: Tx, uploadId: string): Promise<UploadRow | undefined> {
    return (await c.query<UploadRow>('SELECT * FROM uploads WHERE upload_id = $1 FOR UPDATE', [uploadId])).rows[0];
  }

  async create(u: { uploadId: string; vaultId: number; partSize: number; description: string | null; now: number }) {
    await this.#db.tx(async (c) => {
      // FOR SHARE: uploads of one vault start concurrently; DeleteVault (FOR UPDATE) waits or is waited for.
      if (!(await lockVault(c, u.vaultId, 'SHARE'))) throw new VaultGoneError(u.vaultId);
      await c.query('INSERT INTO uploads (upload_id, vault_id, part_size, description, created_at, last_activity_at) VALUES ($1, $2, $3, $4, $5, $5)', [
        u.uploadId,
        u.vaultId,
        u.partSize,
        u.description,
        u.now,
      ]);
    });
  }

  async get(uploadId: string) {
    const r = await this.#db.one<UploadRow>('SELECT * FROM uploads WHERE upload_id = $1', [uploadId]);
    return r ? toUpload(r) : null;
  }

  async listActive(vaultId: number, fromUploadId: string | null, activeSince: number, limit: number) {
    return (
      await this.#db.rows<UploadRow>(
        "SELECT * FROM uploads WHERE vault_id = $1 AND state = 'active' AND upload_id >= $2 AND last_activity_at >= $3 ORDER BY upload_id LIMIT $4",
        [vaultId, fromUploadId ?? '', activeSince, limit],
      )
    ).map(toUpload);
  }

  async putPart(uploadId: string, part: PartRecord, leaves: Buffer, now: number) {
    return this.#db.tx(async (c): Promise<'ok' | 'not-active'> => {
      const u = await this.#lockUpload(c, uploadId);
      if (!u || u.state !== 'active') {
        await this.#blobs.discardIn(c, part.blobKey, now);
        return 'not-active';
      }
      await this.#blobs.commitPendingIn(c, part.blobKey, part.size, now);
      const old = (await c.query<PartRow>(`SELECT ${PART_COLUMNS} FROM upload_parts WHERE upload_row = $1 AND part_index = $2`, [u.id, part.index])).rows[0];
      await c.query(
        `INSERT INTO upload_parts (upload_row, part_index, size, tree_hash, blob_key, leaves) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (upload_row, part_index) DO UPDATE SET size = excluded.size, tree_hash = excluded.tree_hash, blob_key = excluded.blob_key, leaves = excluded.leaves`,
        [u.id, part.index, part.size, part.treeHash, part.blobKey, leaves],
      );
      if (old) await this.#blobs.releaseIn(c, old.blob_key, now);
      await c.query('UPDATE uploads SET last_activity_at = GREATEST(last_activity_at, $1) WHERE id = $2', [now, u.id]);
      return 'ok';
    });
  }

  async listParts(uploadId: string, fromIndex: number, limit: number) {
    return (
      await this.#db.rows<PartRow>(
        `SELECT ${PART_COLUMNS} FROM upload_parts WHERE upload_row = (SELECT id FROM uploads WHERE upload_id = $1) AND part_index >= $2 ORDER BY part_index LIMIT $3`,
        [uploadId, fromIndex, limit],
      )
    ).map(toPart);
  }

  async allParts(uploadId: string): Promise<PartRecord[]> {
    return (
      await this.#db.rows<PartRow>(`SELECT ${PART_COLUMNS} FROM upload_parts WHERE upload_row = (SELECT id FROM uploads WHERE upload_id = $1) ORDER BY part_index`, [uploadId])
    ).map(toPart);
  }

  async partLeaves(uploadId: string) {
    return (
      await this.#db.rows<{ leaves: Buffer }>('SELECT leaves FROM upload_parts WHERE upload_row = (SELECT id FROM uploads WHERE upload_id = $1) ORDER BY part_index', [uploadId])
    ).map((r) => r.leaves);
  }

  async complete(uploadId: string, archive: ArchiveRecord, partBlobKeys: string[], now: number) {
    return this.#db.tx(async (c): Promise<'ok' | 'not-active' | 'parts-changed'> => {
      // Lock order: the vault row (the counters), then the upload row. The upload's vault never changes.
      const vaultId = (await c.query<{ vault_id: number }>('SELECT vault_id FROM uploads WHERE upload_id = $1', [uploadId])).rows[0]?.vault_id;
      if (vaultId !== undefined) await lockVault(c, vaultId);
      const u = await this.#lockUpload(c, uploadId);
      if (!u || u.state !== 'active') {
        await this.#blobs.discardIn(c, archive.blobKey, now);
        return 'not-active';
      }
      const parts = (await c.query<PartRow>(`SELECT ${PART_COLUMNS} FROM upload_parts WHERE upload_row = $1 ORDER BY part_index`, [u.id])).rows;
      // The manifest was written from an earlier read; a part re-uploaded since would leave it
      // pointing at a released blob.
      if (parts.length !== partBlobKeys.length || parts.some((p, i) => p.blob_key !== partBlobKeys[i])) {
        await this.#blobs.discardIn(c, archive.blobKey, now);
        return 'parts-changed';
      }
      // The manifest takes over the parts' references: each part blob keeps refs = 1.
      await this.#blobs.commitPendingIn(c, archive.blobKey, archive.size, now);
      const leaves = (await c.query<{ leaves: Buffer }>('SELECT leaves FROM upload_parts WHERE upload_row = $1 ORDER BY part_index', [u.id])).rows.map((r) => r.leaves);
      await this.#archives.insertIn(c, archive, leaves);
      await this.#blobs.addMembersIn(
        c,
        archive.blobKey,
        parts.map((p) => p.blob_key),
      );
      await c.query('DELETE FROM upload_parts WHERE upload_row = $1', [u.id]);
      await c.query(FINISH, ['completed', now, archive.archiveId, archive.size, archive.treeHash, u.id]);
      return 'ok';
    });
  }

  async #releaseParts(c: Tx, uploadRow: number, now: number): Promise<void> {
    const parts = await c.query<{ blob_key: string }>('DELETE FROM upload_parts WHERE upload_row = $1 RETURNING blob_key, part_index', [uploadRow]);
    for (const p of parts.rows) await this.#blobs.releaseIn(c, p.blob_key, now);
  }

  async abort(uploadId: string, now: number) {
    return this.#db.tx(async (c): Promise<'aborted' | 'not-active'> => {
      const u = await this.#lockUpload(c, uploadId);
      if (!u || u.state !== 'active') return 'not-active';
      await this.#releaseParts(c, u.id, now);
      await c.query(FINISH, ['aborted', now, null, null, null, u.id]);
      return 'aborted';
    });
  }

  async expireIdle(idleBefore: number, now: number, limit: number) {
    return this.#db.tx(async (c) => {
      // SKIP LOCKED: an upload a part or Complete holds is active right now; several sweepers share the work.
      const rows = await c.query<{ id: number }>(
        "SELECT id FROM uploads WHERE state = 'active' AND last_activity_at < $1 ORDER BY last_activity_at LIMIT $2 FOR UPDATE SKIP LOCKED",
        [idleBefore, limit],
      );
      for (const u of rows.rows) {
        await this.#releaseParts(c, u.id, now);
        await c.query(FINISH, ['expired', now, null, null, null, u.id]);
      }
      return rows.rows.length;
    });
  }

  async listPartsForScrub(filter: ScrubFilter, after: { uploadId: string; index: number } | null, limit: number): Promise<ScrubPart[]> {
    const rows = await this.#db.rows<PartRow & { upload_id: string; leaves: Buffer; account_id: string; region: string; vault_name: string }>(
      `SELECT u.upload_id, p.part_index, p.size, p.tree_hash, p.blob_key, p.leaves, v.account_id, v.region, v.name AS vault_name
        FROM upload_parts p JOIN uploads u ON u.id = p.upload_row JOIN vaults v ON v.id = u.vault_id
        WHERE u.state = 'active' AND (u.upload_id, p.part_index) > ($3::text COLLATE "C", $4::int)
          AND ($1::text IS NULL OR v.account_id = $1) AND ($2::text IS NULL OR v.name = $2)
        ORDER BY u.upload_id, p.part_index LIMIT $5`,
      [...scrubArgs(filter), after?.uploadId ?? '', after?.index ?? -1, limit],
    );
    return rows.map((r) => ({ uploadId: r.upload_id, part: toPart(r), leaves: r.leaves, accountId: r.account_id, region: r.region, vaultName: r.vault_name }));
  }

  async scrubTotal(filter: ScrubFilter) {
    const r = await this.#db.one<{ count: number; bytes: number }>(
      `SELECT COUNT(*) AS count, COALESCE(SUM(p.size), 0)::bigint AS bytes
        FROM upload_parts p JOIN uploads u ON u.id = p.upload_row JOIN vaults v ON v.id = u.vault_id
        WHERE u.state = 'active' AND ($1::text IS NULL OR v.account_id = $1) AND ($2::text IS NULL OR v.name = $2)`,
      scrubArgs(filter),
    );
    return r!;
  }

  async purgeFinished(before: number) {
    return (await this.#db.query("DELETE FROM uploads WHERE state <> 'active' AND finished_at < $1", [before])).rowCount ?? 0;
  }
}
