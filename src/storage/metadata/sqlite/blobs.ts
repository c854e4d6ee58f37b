import type { SqliteDb } from './db.js';
import type { BlobRepo } from '../types.js';

/**
 * Blob reference counts. The `*Sync` methods run inside the callers' transactions (archives,
 * uploads), so a reference moves in the same unit of work as the row that holds it.
 */
export class SqliteBlobRepo implements BlobRepo {
  readonly #db: SqliteDb;
  readonly #s;

  constructor(db: SqliteDb) {
    this.#db = db;
    this.#s = {
      insert: db.prepare('INSERT INTO blobs (blob_key, size, refs, created_at) VALUES (?, ?, ?, ?)'),
      get: db.prepare('SELECT refs FROM blobs WHERE blob_key = ?'),
      inc: db.prepare('UPDATE blobs SET refs = refs + 1 WHERE blob_key = ?'),
      dec: db.prepare('UPDATE blobs SET refs = refs - 1 WHERE blob_key = ? RETURNING refs'),
      del: db.prepare('DELETE FROM blobs WHERE blob_key = ?'),
      members: db.prepare('SELECT member_key FROM blob_members WHERE manifest_key = ? ORDER BY seq'),
      addMember: db.prepare('INSERT INTO blob_members (manifest_key, seq, member_key) VALUES (?, ?, ?)'),
      delMembers: db.prepare('DELETE FROM blob_members WHERE manifest_key = ?'),
      queue: db.prepare('INSERT INTO blob_garbage (blob_key, queued_at) VALUES (?, ?) ON CONFLICT (blob_key) DO NOTHING'),
      garbage: db.prepare('SELECT blob_key FROM blob_garbage ORDER BY queued_at, blob_key LIMIT ?'),
      isGarbage: db.prepare('SELECT 1 FROM blob_garbage WHERE blob_key = ?'),
      forget: db.prepare('DELETE FROM blob_garbage WHERE blob_key = ?'),
    };
  }

  /** A newly stored blob with `refs` references. */
  insertSync(blobKey: string, size: number, refs: number, now: number): void {
    this.#s.insert.run(blobKey, size, refs, now);
  }

  /** A manifest holding one reference on each member (the caller transfers or adds them). */
  addMembersSync(manifestKey: string, memberKeys: string[]): void {
    memberKeys.forEach((k, i) => this.#s.addMember.run(manifestKey, i, k));
  }

  retainSync(blobKey: string): void {
    const info = this.#s.inc.run(blobKey);
    if (info.changes !== 1) throw new Error(`Blob ${blobKey} does not exist (any more)`);
  }

  /** Drops one reference; at zero the blob (and, for a manifest, its members' references) go. */
  releaseSync(blobKey: string, now: number): void {
    const r = this.#s.dec.get(blobKey) as { refs: number } | undefined;
    if (!r) return;
    if (r.refs > 0) return;
    this.#s.del.run(blobKey);
    this.#s.queue.run(blobKey, now);
    const members = (this.#s.members.all(blobKey) as { member_key: string }[]).map((m) => m.member_key);
    if (members.length > 0) {
      this.#s.delMembers.run(blobKey);
      for (const m of members) this.releaseSync(m, now);
    }
  }

  discardSync(blobKey: string, now: number): void {
    this.#s.queue.run(blobKey, now);
  }

  async retain(blobKey: string) {
    this.retainSync(blobKey);
  }

  async release(blobKey: string) {
    // queued_at only orders the collector's work; the contract carries no domain time.
    this.#db.transaction(() => this.releaseSync(blobKey, Date.now()))();
  }

  async known(blobKey: string) {
    return this.#s.get.get(blobKey) !== undefined || this.#s.isGarbage.get(blobKey) !== undefined;
  }

  async discard(blobKey: string, now: number) {
    this.discardSync(blobKey, now);
  }

  async garbage(limit: number) {
    return (this.#s.garbage.all(limit) as { blob_key: string }[]).map((r) => r.blob_key);
  }

  async forget(blobKeys: string[]) {
    this.#db.transaction(() => {
      for (const k of blobKeys) this.#s.forget.run(k);
    })();
  }
}
