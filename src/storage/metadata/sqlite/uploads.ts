import type { SqliteDb } from './db.js';
import type { SqliteBlobRepo } from './blobs.js';
import { scrubArgs, type SqliteArchiveRepo } from './archives.js';
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

export class SqliteUploadRepo implements UploadRepo {
  readonly #db: SqliteDb;
  readonly #blobs: SqliteBlobRepo;
  readonly #archives: SqliteArchiveRepo;
  readonly #s;

  constructor(db: SqliteDb, blobs: SqliteBlobRepo, archives: SqliteArchiveRepo) {
    this.#db = db;
    this.#blobs = blobs;
    this.#archives = archives;
    this.#s = {
      insert: db.prepare(
        'INSERT INTO uploads (upload_id, vault_id, part_size, description, created_at, last_activity_at) ' +
          'SELECT ?, id, ?, ?, ?, ? FROM vaults WHERE id = ?',
      ),
      get: db.prepare('SELECT * FROM uploads WHERE upload_id = ?'),
      listActive: db.prepare(
        "SELECT * FROM uploads WHERE vault_id = ? AND state = 'active' AND upload_id >= ? AND last_activity_at >= ? ORDER BY upload_id LIMIT ?",
      ),
      touch: db.prepare('UPDATE uploads SET last_activity_at = MAX(last_activity_at, ?) WHERE id = ?'),
      getPart: db.prepare('SELECT * FROM upload_parts WHERE upload_row = ? AND part_index = ?'),
      putPart: db.prepare(
        'INSERT INTO upload_parts (upload_row, part_index, size, tree_hash, blob_key, leaves) VALUES (?, ?, ?, ?, ?, ?) ' +
          'ON CONFLICT (upload_row, part_index) DO UPDATE SET size = excluded.size, tree_hash = excluded.tree_hash, blob_key = excluded.blob_key, leaves = excluded.leaves',
      ),
      listParts: db.prepare('SELECT part_index, size, tree_hash, blob_key FROM upload_parts WHERE upload_row = ? AND part_index >= ? ORDER BY part_index LIMIT ?'),
      allParts: db.prepare('SELECT part_index, size, tree_hash, blob_key FROM upload_parts WHERE upload_row = ? ORDER BY part_index'),
      partLeaves: db.prepare('SELECT leaves FROM upload_parts WHERE upload_row = ? ORDER BY part_index'),
      delParts: db.prepare('DELETE FROM upload_parts WHERE upload_row = ?'),
      finish: db.prepare(
        "UPDATE uploads SET state = ?, finished_at = ?, archive_id = ?, archive_size = ?, tree_hash = ? WHERE id = ? AND state = 'active'",
      ),
      idle: db.prepare("SELECT * FROM uploads WHERE state = 'active' AND last_activity_at < ? ORDER BY last_activity_at LIMIT ?"),
      scrubPage: db.prepare(`SELECT u.upload_id, p.part_index, p.size, p.tree_hash, p.blob_key, p.leaves, v.account_id, v.region, v.name AS vault_name
        FROM upload_parts p JOIN uploads u ON u.id = p.upload_row JOIN vaults v ON v.id = u.vault_id
        WHERE u.state = 'active' AND (u.upload_id, p.part_index) > (@afterId, @afterIndex)
          AND (@account IS NULL OR v.account_id = @account) AND (@vault IS NULL OR v.name = @vault)
        ORDER BY u.upload_id, p.part_index LIMIT @limit`),
      scrubTotal: db.prepare(`SELECT COUNT(*) AS count, COALESCE(SUM(p.size), 0) AS bytes
        FROM upload_parts p JOIN uploads u ON u.id = p.upload_row JOIN vaults v ON v.id = u.vault_id
        WHERE u.state = 'active' AND (@account IS NULL OR v.account_id = @account) AND (@vault IS NULL OR v.name = @vault)`),
      purge: db.prepare("DELETE FROM uploads WHERE state <> 'active' AND finished_at < ?"),
    };
  }

  #row(uploadId: string): UploadRow | undefined {
    return this.#s.get.get(uploadId) as UploadRow | undefined;
  }

  async create(u: { uploadId: string; vaultId: number; partSize: number; description: string | null; now: number }) {
    // Only while the vault exists (one statement): DeleteVault removes a vault's uploads with it.
    if (this.#s.insert.run(u.uploadId, u.partSize, u.description, u.now, u.now, u.vaultId).changes !== 1) throw new VaultGoneError(u.vaultId);
  }

  async get(uploadId: string) {
    const r = this.#row(uploadId);
    return r ? toUpload(r) : null;
  }

  async listActive(vaultId: number, fromUploadId: string | null, activeSince: number, limit: number) {
    return (this.#s.listActive.all(vaultId, fromUploadId ?? '', activeSince, limit) as UploadRow[]).map(toUpload);
  }

  async putPart(uploadId: string, part: PartRecord, leaves: Buffer, now: number) {
    return this.#db
      .transaction((): 'ok' | 'not-active' => {
        const u = this.#row(uploadId);
        if (!u || u.state !== 'active') {
          this.#blobs.discardSync(part.blobKey, now);
          return 'not-active';
        }
        this.#blobs.commitPendingSync(part.blobKey, part.size, now);
        const old = this.#s.getPart.get(u.id, part.index) as PartRow | undefined;
        this.#s.putPart.run(u.id, part.index, part.size, part.treeHash, part.blobKey, leaves);
        if (old) this.#blobs.releaseSync(old.blob_key, now);
        this.#s.touch.run(now, u.id);
        return 'ok';
      })
      .immediate();
  }

  async listParts(uploadId: string, fromIndex: number, limit: number) {
    const u = this.#row(uploadId);
    if (!u) return [];
    return (this.#s.listParts.all(u.id, fromIndex, limit) as PartRow[]).map(toPart);
  }

  async allParts(uploadId: string): Promise<PartRecord[]> {
    const u = this.#row(uploadId);
    if (!u) return [];
    return (this.#s.allParts.all(u.id) as PartRow[]).map(toPart);
  }

  async partLeaves(uploadId: string) {
    const u = this.#row(uploadId);
    if (!u) return [];
    return (this.#s.partLeaves.all(u.id) as { leaves: Buffer }[]).map((r) => r.leaves);
  }

  async complete(uploadId: string, archive: ArchiveRecord, partBlobKeys: string[], now: number) {
    return this.#db
      .transaction((): 'ok' | 'not-active' | 'parts-changed' => {
        const u = this.#row(uploadId);
        if (!u || u.state !== 'active') {
          this.#blobs.discardSync(archive.blobKey, now);
          return 'not-active';
        }
        const parts = this.#s.allParts.all(u.id) as PartRow[];
        // The manifest was written from an earlier read; a part re-uploaded since would leave it
        // pointing at a released blob.
        if (parts.length !== partBlobKeys.length || parts.some((p, i) => p.blob_key !== partBlobKeys[i])) {
          this.#blobs.discardSync(archive.blobKey, now);
          return 'parts-changed';
        }
        // The manifest takes over the parts' references: each part blob keeps refs = 1.
        this.#blobs.commitPendingSync(archive.blobKey, archive.size, now);
        const leaves = (this.#s.partLeaves.all(u.id) as { leaves: Buffer }[]).map((r) => r.leaves);
        this.#archives.insertSync(archive, leaves);
        this.#blobs.addMembersSync(
          archive.blobKey,
          parts.map((p) => p.blob_key),
        );
        this.#s.delParts.run(u.id);
        this.#s.finish.run('completed', now, archive.archiveId, archive.size, archive.treeHash, u.id);
        return 'ok';
      })
      .immediate();
  }

  #releaseParts(u: UploadRow, now: number): void {
    for (const p of this.#s.allParts.all(u.id) as PartRow[]) this.#blobs.releaseSync(p.blob_key, now);
    this.#s.delParts.run(u.id);
  }

  async abort(uploadId: string, now: number) {
    return this.#db
      .transaction((): 'aborted' | 'not-active' => {
        const u = this.#row(uploadId);
        if (!u || u.state !== 'active') return 'not-active';
        this.#releaseParts(u, now);
        this.#s.finish.run('aborted', now, null, null, null, u.id);
        return 'aborted';
      })
      .immediate();
  }

  async expireIdle(idleBefore: number, now: number, limit: number) {
    return this.#db
      .transaction(() => {
        const rows = this.#s.idle.all(idleBefore, limit) as UploadRow[];
        for (const u of rows) {
          this.#releaseParts(u, now);
          this.#s.finish.run('expired', now, null, null, null, u.id);
        }
        return rows.length;
      })
      .immediate();
  }

  async listPartsForScrub(filter: ScrubFilter, after: { uploadId: string; index: number } | null, limit: number): Promise<ScrubPart[]> {
    const rows = this.#s.scrubPage.all({ ...scrubArgs(filter), afterId: after?.uploadId ?? '', afterIndex: after?.index ?? -1, limit }) as (PartRow & {
      upload_id: string;
      leaves: Buffer;
      account_id: string;
      region: string;
      vault_name: string;
    })[];
    return rows.map((r) => ({ uploadId: r.upload_id, part: toPart(r), leaves: r.leaves, accountId: r.account_id, region: r.region, vaultName: r.vault_name }));
  }

  async scrubTotal(filter: ScrubFilter) {
    return this.#s.scrubTotal.get(scrubArgs(filter)) as { count: number; bytes: number };
  }

  async purgeFinished(before: number) {
    return this.#s.purge.run(before).changes;
  }
}
