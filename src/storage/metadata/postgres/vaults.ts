import type { PgDb, Tx } from './db.js';
import { lockKey } from './db.js';
import type { PgBlobRepo } from './blobs.js';
import type { NotificationConfig, VaultDeleteResult, VaultKey, VaultRecord, VaultRepo } from '../types.js';

export interface VaultRow {
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

/** Locks the vault row (FOR UPDATE, or FOR SHARE when the unit only needs it to stay) and says whether it exists. */
export async function lockVault(c: Tx, vaultId: number, mode: 'UPDATE' | 'SHARE' = 'UPDATE'): Promise<boolean> {
  return ((await c.query(`SELECT 1 FROM vaults WHERE id = $1 FOR ${mode}`, [vaultId])).rowCount ?? 0) > 0;
}

/**
 * Lock order in every unit that takes several: vault row, then job / upload / archive rows, then
 * blob rows. A deadlock that slips through anyway is retried by PgDb.tx.
 */
export class PgVaultRepo implements VaultRepo {
  readonly #db: PgDb;
  readonly #blobs: PgBlobRepo;

  constructor(db: PgDb, blobs: PgBlobRepo) {
    this.#db = db;
    this.#blobs = blobs;
  }

  async create(key: VaultKey, now: number, maxPerAccount: number) {
    return this.#db.tx(async (c): Promise<{ vault: VaultRecord; created: boolean } | { limitExceeded: true }> => {
      // The account's vaults in the region: no row to lock for a vault not yet created, so an
      // advisory lock on (account, region) serialises the count and the insert.
      await c.query('SELECT pg_advisory_xact_lock($1::bigint)', [lockKey(this.#db.schema, `vaults\0${key.accountId}\0${key.region}`).toString()]);
      const existing = await c.query<VaultRow>('SELECT * FROM vaults WHERE account_id = $1 AND region = $2 AND name = $3', [key.accountId, key.region, key.name]);
      if (existing.rows[0]) return { vault: toVault(existing.rows[0]), created: false };
      const n = (await c.query<{ n: number }>('SELECT COUNT(*) AS n FROM vaults WHERE account_id = $1 AND region = $2', [key.accountId, key.region])).rows[0]!.n;
      if (n >= maxPerAccount) return { limitExceeded: true };
      const row = await c.query<VaultRow>(
        "INSERT INTO vaults (id, account_id, region, name, created_at) VALUES (nextval('vault_ids'), $1, $2, $3, $4) RETURNING *",
        [key.accountId, key.region, key.name, now],
      );
      return { vault: toVault(row.rows[0]!), created: true };
    });
  }

  async get(key: VaultKey) {
    const r = await this.#db.one<VaultRow>('SELECT * FROM vaults WHERE account_id = $1 AND region = $2 AND name = $3', [key.accountId, key.region, key.name]);
    return r ? toVault(r) : null;
  }

  async getById(id: number) {
    const r = await this.#db.one<VaultRow>('SELECT * FROM vaults WHERE id = $1', [id]);
    return r ? toVault(r) : null;
  }

  async list(accountId: string, region: string, fromName: string | null, limit: number) {
    return (
      await this.#db.rows<VaultRow>('SELECT * FROM vaults WHERE account_id = $1 AND region = $2 AND name >= $3 ORDER BY name LIMIT $4', [
        accountId,
        region,
        fromName ?? '',
        limit,
      ])
    ).map(toVault);
  }

  async delete(id: number, deletable: (v: VaultRecord) => boolean, now: number): Promise<VaultDeleteResult> {
    return this.#db.tx(async (c): Promise<VaultDeleteResult> => {
      const row = (await c.query<VaultRow>('SELECT * FROM vaults WHERE id = $1 FOR UPDATE', [id])).rows[0];
      if (!row) return { deleted: false, reason: 'not-found' };
      // Decided on the locked row: archive creates wait on it, so none is committed unseen.
      if (!deletable(toVault(row))) return { deleted: false, reason: 'not-deletable' };
      const live = await c.query('SELECT 1 FROM archives WHERE vault_id = $1 AND deleted_at IS NULL LIMIT 1', [id]);
      if ((live.rowCount ?? 0) > 0) return { deleted: false, reason: 'not-deletable' };
      // Lock the vault's jobs and uploads before releasing what they hold: a job being expired
      // (or completed) elsewhere is waited for, and then seen as it is after that.
      const jobs = await c.query<{ blob_key: string | null; blob_retained: boolean; output_key: string | null; output_blob: boolean }>(
        'SELECT blob_key, blob_retained, output_key, output_blob FROM jobs WHERE vault_id = $1 ORDER BY seq FOR UPDATE',
        [id],
      );
      await c.query('SELECT 1 FROM uploads WHERE vault_id = $1 ORDER BY id FOR UPDATE', [id]);
      for (const j of jobs.rows) {
        if (j.blob_retained && j.blob_key) await this.#blobs.releaseIn(c, j.blob_key, now);
        if (j.output_blob && j.output_key) await this.#blobs.releaseIn(c, j.output_key, now);
      }
      const parts = await c.query<{ blob_key: string }>(
        "SELECT p.blob_key FROM upload_parts p JOIN uploads u ON u.id = p.upload_row WHERE u.vault_id = $1 AND u.state = 'active' ORDER BY p.upload_row, p.part_index",
        [id],
      );
      for (const p of parts.rows) await this.#blobs.releaseIn(c, p.blob_key, now);
      // Queue entries, saved leaves, parts and archive leaves go by ON DELETE CASCADE; tags,
      // notifications, the access policy and the lock with the vault row.
      await c.query('DELETE FROM jobs WHERE vault_id = $1', [id]);
      await c.query('DELETE FROM uploads WHERE vault_id = $1', [id]);
      await c.query('DELETE FROM archives WHERE vault_id = $1', [id]);
      await c.query('DELETE FROM vaults WHERE id = $1', [id]);
      return { deleted: true };
    });
  }

  async getTags(vaultId: number) {
    const out: Record<string, string> = {};
    for (const r of await this.#db.rows<{ tag_key: string; tag_value: string }>('SELECT tag_key, tag_value FROM vault_tags WHERE vault_id = $1 ORDER BY tag_key', [vaultId])) {
      out[r.tag_key] = r.tag_value;
    }
    return out;
  }

  async addTags(vaultId: number, tags: Record<string, string>, maxTags: number) {
    return this.#db.tx(async (c) => {
      // The vault row serialises tag changes of the vault (the count against maxTags).
      if (!(await lockVault(c, vaultId))) return false;
      const keys = Object.keys(tags);
      const r = await c.query<{ n: number }>(
        'SELECT (SELECT COUNT(*) FROM vault_tags WHERE vault_id = $1) + (SELECT COUNT(*) FROM unnest($2::text[]) AS k(k) WHERE NOT EXISTS (SELECT 1 FROM vault_tags t WHERE t.vault_id = $1 AND t.tag_key = k.k)) AS n',
        [vaultId, keys],
      );
      if (r.rows[0]!.n > maxTags) return false;
      for (const [k, v] of Object.entries(tags)) {
        await c.query(
          'INSERT INTO vault_tags (vault_id, tag_key, tag_value) VALUES ($1, $2, $3) ON CONFLICT (vault_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value',
          [vaultId, k, v],
        );
      }
      return true;
    });
  }

  async removeTags(vaultId: number, keys: string[]) {
    await this.#db.query('DELETE FROM vault_tags WHERE vault_id = $1 AND tag_key = ANY($2::text[])', [vaultId, keys]);
  }

  async getNotifications(vaultId: number): Promise<NotificationConfig | null> {
    const r = await this.#db.one<{ sns_topic: string; events: string }>('SELECT sns_topic, events FROM vault_notifications WHERE vault_id = $1', [vaultId]);
    return r ? { snsTopic: r.sns_topic, events: JSON.parse(r.events) as string[] } : null;
  }

  async setNotifications(vaultId: number, config: NotificationConfig) {
    await this.#db.query(
      'INSERT INTO vault_notifications (vault_id, sns_topic, events) VALUES ($1, $2, $3) ON CONFLICT (vault_id) DO UPDATE SET sns_topic = excluded.sns_topic, events = excluded.events',
      [vaultId, config.snsTopic, JSON.stringify(config.events)],
    );
  }

  async deleteNotifications(vaultId: number) {
    await this.#db.query('DELETE FROM vault_notifications WHERE vault_id = $1', [vaultId]);
  }

  async getAccessPolicy(vaultId: number) {
    const r = await this.#db.one<{ policy: string }>('SELECT policy FROM vault_access_policies WHERE vault_id = $1', [vaultId]);
    return r ? r.policy : null;
  }

  async setAccessPolicy(vaultId: number, policy: string) {
    await this.#db.query(
      'INSERT INTO vault_access_policies (vault_id, policy) VALUES ($1, $2) ON CONFLICT (vault_id) DO UPDATE SET policy = excluded.policy',
      [vaultId, policy],
    );
  }

  async deleteAccessPolicy(vaultId: number) {
    await this.#db.query('DELETE FROM vault_access_policies WHERE vault_id = $1', [vaultId]);
  }
}
