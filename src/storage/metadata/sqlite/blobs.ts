import type { SqliteDb } from './db.js';
import type { WalDurability } from './durability.js';
import { BlobLeaseLostError } from '../errors.js';
import type { BlobRepo } from '../types.js';

/**
 * Blobs: pending (`pending_blobs`, being written under a lease), live (`blobs`, with a reference
 * count) and garbage (`blob_garbage`, for the collector). The `*Sync` methods run inside the
 * callers' transactions (archives, uploads, jobs, vaults), so a blob turns live or loses a
 * reference in the same unit of work as the row that holds it.
 */
export class SqliteBlobRepo implements BlobRepo {
  readonly #db: SqliteDb;
  readonly #durability: WalDurability;
  readonly #s;

  constructor(db: SqliteDb, durability: WalDurability) {
    this.#db = db;
    this.#durability = durability;
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
      begin: db.prepare('INSERT INTO pending_blobs (blob_key, owner, lease_until, created_at) VALUES (?, ?, ?, ?)'),
      isPending: db.prepare('SELECT 1 FROM pending_blobs WHERE blob_key = ?'),
      takePending: db.prepare('DELETE FROM pending_blobs WHERE blob_key = ?'),
      renew: db.prepare('UPDATE pending_blobs SET lease_until = ? WHERE owner = ?'),
      lapsed: db.prepare('SELECT blob_key FROM pending_blobs WHERE lease_until < ? ORDER BY lease_until, blob_key LIMIT ?'),
    };
  }

  /**
   * Turns the pending blob live with one reference (held by the row the caller writes in the same
   * transaction). Throws BlobLeaseLostError, before anything is written, when it is not pending.
   */
  commitPendingSync(blobKey: string, size: number, now: number): void {
    if (this.#s.takePending.run(blobKey).changes !== 1) throw new BlobLeaseLostError(blobKey);
    this.#s.insert.run(blobKey, size, 1, now);
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

  /** A blob nobody will reference (pending or never recorded) becomes garbage; a live one is left alone. */
  discardSync(blobKey: string, now: number): void {
    if (this.#s.get.get(blobKey) !== undefined) return;
    this.#s.takePending.run(blobKey);
    this.#s.queue.run(blobKey, now);
  }

  async begin(blobKey: string, owner: string, leaseUntil: number) {
    this.#s.begin.run(blobKey, owner, leaseUntil, Date.now());
  }

  /** NORMAL commit, then the shared WAL fsync (WalDurability): an upload's record costs no fsync of its own. */
  async beginDeferred(blobKey: string, owner: string, leaseUntil: number) {
    const { durable } = this.#durability.commit(() => this.#s.begin.run(blobKey, owner, leaseUntil, Date.now()));
    return { durable };
  }

  async renewPending(owner: string, leaseUntil: number) {
    return this.#s.renew.run(leaseUntil, owner).changes;
  }

  async reapExpiredPending(now: number, limit: number) {
    return this.#db
      .transaction(() => {
        const keys = (this.#s.lapsed.all(now, limit) as { blob_key: string }[]).map((r) => r.blob_key);
        for (const k of keys) {
          this.#s.takePending.run(k);
          this.#s.queue.run(k, now);
        }
        return keys.length;
      })
      .immediate();
  }

  async retain(blobKey: string) {
    this.retainSync(blobKey);
  }

  async release(blobKey: string) {
    // queued_at only orders the collector's work; the contract carries no domain time.
    this.#db.transaction(() => this.releaseSync(blobKey, Date.now())).immediate();
  }

  async known(blobKey: string) {
    return this.#s.get.get(blobKey) !== undefined || this.#s.isPending.get(blobKey) !== undefined || this.#s.isGarbage.get(blobKey) !== undefined;
  }

  async discard(blobKey: string, now: number) {
    this.#db.transaction(() => this.discardSync(blobKey, now)).immediate();
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
