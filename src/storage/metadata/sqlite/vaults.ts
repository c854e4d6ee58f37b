import type { SqliteDb } from './db.js';
import type { SqliteBlobRepo } from './blobs.js';
import type { NotificationConfig, VaultDeleteResult, VaultKey, VaultRecord, VaultRepo } from '../types.js';

interface VaultRow {
  id: number;
  account_id: string;
  region: string;
  name: string;
  created_at: number;
  number_of_archives: number;
  size_in_bytes: number;
  last_inventory_at: number | null;
  inventory_number_of_archives: number;
  inventory_size_in_bytes: number;
  last_write_at: number | null;
}

export function toVault(r: VaultRow): VaultRecord {
  return {
    id: r.id,
    accountId: r.account_id,
    region: r.region,
    name: r.name,
    createdAt: r.created_at,
    numberOfArchives: r.number_of_archives,
    sizeInBytes: r.size_in_bytes,
    lastInventoryAt: r.last_inventory_at,
    inventoryNumberOfArchives: r.inventory_number_of_archives,
    inventorySizeInBytes: r.inventory_size_in_bytes,
    lastWriteAt: r.last_write_at,
  };
}

export class SqliteVaultRepo implements VaultRepo {
  readonly #db: SqliteDb;
  readonly #blobs: SqliteBlobRepo;
  readonly #s;

  /** Takes the blob repository so that deleting a vault releases its jobs' and uploads' blobs in the same transaction. */
  constructor(db: SqliteDb, blobs: SqliteBlobRepo) {
    this.#db = db;
    this.#blobs = blobs;
    this.#s = {
      get: db.prepare('SELECT * FROM vaults WHERE account_id = ? AND region = ? AND name = ?'),
      getById: db.prepare('SELECT * FROM vaults WHERE id = ?'),
      count: db.prepare('SELECT COUNT(*) AS n FROM vaults WHERE account_id = ? AND region = ?'),
      nextId: db.prepare("UPDATE id_sequences SET last_id = last_id + 1 WHERE name = 'vaults' RETURNING last_id"),
      insert: db.prepare('INSERT INTO vaults (id, account_id, region, name, created_at) VALUES (?, ?, ?, ?, ?)'),
      list: db.prepare('SELECT * FROM vaults WHERE account_id = ? AND region = ? AND name >= ? ORDER BY name LIMIT ?'),
      delete: db.prepare('DELETE FROM vaults WHERE id = ?'),
      liveArchive: db.prepare('SELECT 1 FROM archives WHERE vault_id = ? AND deleted_at IS NULL LIMIT 1'),
      jobsOf: db.prepare('SELECT blob_key, blob_retained, output_key, output_blob FROM jobs WHERE vault_id = ?'),
      deleteJobs: db.prepare('DELETE FROM jobs WHERE vault_id = ?'),
      partsOf: db.prepare("SELECT p.blob_key FROM upload_parts p JOIN uploads u ON u.id = p.upload_row WHERE u.vault_id = ? AND u.state = 'active'"),
      deleteUploads: db.prepare('DELETE FROM uploads WHERE vault_id = ?'),
      deleteArchives: db.prepare('DELETE FROM archives WHERE vault_id = ?'),
      tags: db.prepare('SELECT tag_key, tag_value FROM vault_tags WHERE vault_id = ? ORDER BY tag_key'),
      tagCount: db.prepare('SELECT COUNT(*) AS n FROM vault_tags WHERE vault_id = ?'),
      tagExists: db.prepare('SELECT 1 FROM vault_tags WHERE vault_id = ? AND tag_key = ?'),
      putTag: db.prepare(
        'INSERT INTO vault_tags (vault_id, tag_key, tag_value) VALUES (?, ?, ?) ON CONFLICT (vault_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value',
      ),
      delTag: db.prepare('DELETE FROM vault_tags WHERE vault_id = ? AND tag_key = ?'),
      getNotif: db.prepare('SELECT sns_topic, events FROM vault_notifications WHERE vault_id = ?'),
      putNotif: db.prepare(
        'INSERT INTO vault_notifications (vault_id, sns_topic, events) VALUES (?, ?, ?) ON CONFLICT (vault_id) DO UPDATE SET sns_topic = excluded.sns_topic, events = excluded.events',
      ),
      delNotif: db.prepare('DELETE FROM vault_notifications WHERE vault_id = ?'),
      getPolicy: db.prepare('SELECT policy FROM vault_access_policies WHERE vault_id = ?'),
      putPolicy: db.prepare(
        'INSERT INTO vault_access_policies (vault_id, policy) VALUES (?, ?) ON CONFLICT (vault_id) DO UPDATE SET policy = excluded.policy',
      ),
      delPolicy: db.prepare('DELETE FROM vault_access_policies WHERE vault_id = ?'),
    };
  }

  async create(key: VaultKey, now: number, maxPerAccount: number) {
    return this.#db.transaction(() => {
      const existing = this.#s.get.get(key.accountId, key.region, key.name) as VaultRow | undefined;
      if (existing) return { vault: toVault(existing), created: false };
      const { n } = this.#s.count.get(key.accountId, key.region) as { n: number };
      if (n >= maxPerAccount) return { limitExceeded: true as const };
      // Never MAX(id) + 1: a deleted vault's id stays retired (migration 007).
      const { last_id: id } = this.#s.nextId.get() as { last_id: number };
      this.#s.insert.run(id, key.accountId, key.region, key.name, now);
      const row = this.#s.getById.get(id) as VaultRow;
      return { vault: toVault(row), created: true };
    }).immediate();
  }

  async get(key: VaultKey) {
    const r = this.#s.get.get(key.accountId, key.region, key.name) as VaultRow | undefined;
    return r ? toVault(r) : null;
  }

  async getById(id: number) {
    const r = this.#s.getById.get(id) as VaultRow | undefined;
    return r ? toVault(r) : null;
  }

  async list(accountId: string, region: string, fromName: string | null, limit: number) {
    return (this.#s.list.all(accountId, region, fromName ?? '', limit) as VaultRow[]).map(toVault);
  }

  async delete(id: number, deletable: (v: VaultRecord) => boolean, now: number): Promise<VaultDeleteResult> {
    return this.#db
      .transaction((): VaultDeleteResult => {
        const row = this.#s.getById.get(id) as VaultRow | undefined;
        if (!row) return { deleted: false, reason: 'not-found' };
        // Decided on the row as it is now, in the transaction that deletes: an archive committed
        // after the caller looked cannot be orphaned.
        if (!deletable(toVault(row)) || this.#s.liveArchive.get(id)) return { deleted: false, reason: 'not-deletable' };
        for (const j of this.#s.jobsOf.all(id) as { blob_key: string | null; blob_retained: number; output_key: string | null; output_blob: number }[]) {
          if (j.blob_retained === 1 && j.blob_key) this.#blobs.releaseSync(j.blob_key, now);
          if (j.output_blob === 1 && j.output_key) this.#blobs.releaseSync(j.output_key, now);
        }
        for (const p of this.#s.partsOf.all(id) as { blob_key: string }[]) this.#blobs.releaseSync(p.blob_key, now);
        // Queue entries, saved leaves, upload parts and archive leaves go by ON DELETE CASCADE;
        // tags, notifications, the access policy and the lock with the vault row.
        this.#s.deleteJobs.run(id);
        this.#s.deleteUploads.run(id);
        this.#s.deleteArchives.run(id);
        this.#s.delete.run(id);
        return { deleted: true };
      })
      .immediate();
  }

  async getTags(vaultId: number) {
    const out: Record<string, string> = {};
    for (const r of this.#s.tags.all(vaultId) as { tag_key: string; tag_value: string }[]) out[r.tag_key] = r.tag_value;
    return out;
  }

  async addTags(vaultId: number, tags: Record<string, string>, maxTags: number) {
    return this.#db.transaction(() => {
      let { n } = this.#s.tagCount.get(vaultId) as { n: number };
      for (const k of Object.keys(tags)) if (!this.#s.tagExists.get(vaultId, k)) n++;
      if (n > maxTags) return false;
      for (const [k, v] of Object.entries(tags)) this.#s.putTag.run(vaultId, k, v);
      return true;
    }).immediate();
  }

  async removeTags(vaultId: number, keys: string[]) {
    this.#db.transaction(() => {
      for (const k of keys) this.#s.delTag.run(vaultId, k);
    })();
  }

  async getNotifications(vaultId: number): Promise<NotificationConfig | null> {
    const r = this.#s.getNotif.get(vaultId) as { sns_topic: string; events: string } | undefined;
    return r ? { snsTopic: r.sns_topic, events: JSON.parse(r.events) as string[] } : null;
  }

  async setNotifications(vaultId: number, config: NotificationConfig) {
    this.#s.putNotif.run(vaultId, config.snsTopic, JSON.stringify(config.events));
  }

  async deleteNotifications(vaultId: number) {
    this.#s.delNotif.run(vaultId);
  }

  async getAccessPolicy(vaultId: number) {
    const r = this.#s.getPolicy.get(vaultId) as { policy: string } | undefined;
    return r ? r.policy : null;
  }

  async setAccessPolicy(vaultId: number, policy: string) {
    this.#s.putPolicy.run(vaultId, policy);
  }

  async deleteAccessPolicy(vaultId: number) {
    this.#s.delPolicy.run(vaultId);
  }
}
