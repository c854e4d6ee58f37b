import type { PgDb, Tx } from './db.js';
import { BlobLeaseLostError } from '../errors.js';
import type { BlobRepo } from '../types.js';

/**
 * Blobs: pending (`pending_blobs`, being written under a lease), live (`blobs`, with a reference
 * count, changed by single-row UPDATEs that lock the row) and garbage (`blob_garbage`). The `*In`
 * methods run inside the callers' transactions, so a blob turns live or loses a reference in the
 * same unit of work as the row that holds it.
 */
export class PgBlobRepo implements BlobRepo {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  /**
   * Turns the pending blob live with one reference. The DELETE locks the pending row: a reaper
   * holding it (SKIP LOCKED) makes this wait and then find nothing (BlobLeaseLostError).
   */
  async commitPendingIn(c: Tx, blobKey: string, size: number, now: number): Promise<void> {
    const r = await c.query('DELETE FROM pending_blobs WHERE blob_key = $1', [blobKey]);
    if (r.rowCount !== 1) throw new BlobLeaseLostError(blobKey);
    await c.query('INSERT INTO blobs (blob_key, size, refs, created_at) VALUES ($1, $2, 1, $3)', [blobKey, size, now]);
  }

  async addMembersIn(c: Tx, manifestKey: string, memberKeys: string[]): Promise<void> {
    if (memberKeys.length === 0) return;
    await c.query(
      'INSERT INTO blob_members (manifest_key, seq, member_key) SELECT $1, m.ord - 1, m.k FROM unnest($2::text[]) WITH ORDINALITY AS m(k, ord)',
      [manifestKey, memberKeys],
    );
  }

  async retainIn(c: Tx, blobKey: string): Promise<void> {
    const r = await c.query('UPDATE blobs SET refs = refs + 1 WHERE blob_key = $1', [blobKey]);
    if (r.rowCount !== 1) throw new Error(`Blob ${blobKey} does not exist (any more)`);
  }

  /** Drops one reference; at zero the blob (and, for a manifest, its members' references) go. */
  async releaseIn(c: Tx, blobKey: string, now: number): Promise<void> {
    const r = await c.query<{ refs: number }>('UPDATE blobs SET refs = refs - 1 WHERE blob_key = $1 RETURNING refs', [blobKey]);
    const refs = r.rows[0]?.refs;
    if (refs === undefined || refs > 0) return;
    await c.query('DELETE FROM blobs WHERE blob_key = $1', [blobKey]);
    await this.#queue(c, blobKey, now);
    const members = await c.query<{ member_key: string }>('DELETE FROM blob_members WHERE manifest_key = $1 RETURNING member_key, seq', [blobKey]);
    for (const m of members.rows) await this.releaseIn(c, m.member_key, now);
  }

  async #queue(c: Tx, blobKey: string, now: number): Promise<void> {
    await c.query('INSERT INTO blob_garbage (blob_key, queued_at) VALUES ($1, $2) ON CONFLICT (blob_key) DO NOTHING', [blobKey, now]);
  }

  /**
   * A blob nobody will reference becomes garbage; a live one is left alone. The pending row goes
   * first (waiting for a commit that holds it), then liveness is read as committed after that.
   */
  async discardIn(c: Tx, blobKey: string, now: number): Promise<void> {
    await c.query('DELETE FROM pending_blobs WHERE blob_key = $1', [blobKey]);
    const live = await c.query('SELECT 1 FROM blobs WHERE blob_key = $1', [blobKey]);
    if (live.rowCount === 0) await this.#queue(c, blobKey, now);
  }

  async begin(blobKey: string, owner: string, leaseUntil: number) {
    await this.#db.query('INSERT INTO pending_blobs (blob_key, owner, lease_until, created_at) VALUES ($1, $2, $3, $4)', [blobKey, owner, leaseUntil, Date.now()]);
  }

  /** A committed row is durable already (synchronous_commit = on, the default). */
  async beginDeferred(blobKey: string, owner: string, leaseUntil: number) {
    await this.begin(blobKey, owner, leaseUntil);
    return { durable: Promise.resolve() };
  }

  async renewPending(owner: string, leaseUntil: number) {
    return (await this.#db.query('UPDATE pending_blobs SET lease_until = $1 WHERE owner = $2', [leaseUntil, owner])).rowCount ?? 0;
  }

  async reapExpiredPending(now: number, limit: number) {
    // Beyond int8 (embedded start-up passes a huge `now`): every lease has lapsed.
    const bound = Math.min(now, Number.MAX_SAFE_INTEGER);
    return this.#db.tx(async (c) => {
      // SKIP LOCKED: rows a commit (or another reaper) holds are theirs; each lapsed row is reaped once.
      const r = await c.query<{ blob_key: string }>(
        `DELETE FROM pending_blobs WHERE blob_key IN (
           SELECT blob_key FROM pending_blobs WHERE lease_until < $1 ORDER BY lease_until, blob_key LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING blob_key`,
        [bound, limit],
      );
      for (const row of r.rows) await this.#queue(c, row.blob_key, now > bound ? bound : now);
      return r.rows.length;
    });
  }

  async retain(blobKey: string) {
    await this.#db.tx((c) => this.retainIn(c, blobKey));
  }

  async release(blobKey: string) {
    // queued_at only orders the collector's work; the contract carries no domain time.
    await this.#db.tx((c) => this.releaseIn(c, blobKey, Date.now()));
  }

  async known(blobKey: string) {
    const r = await this.#db.query(
      `SELECT EXISTS (SELECT 1 FROM blobs WHERE blob_key = $1) OR EXISTS (SELECT 1 FROM pending_blobs WHERE blob_key = $1)
         OR EXISTS (SELECT 1 FROM blob_garbage WHERE blob_key = $1) AS known`,
      [blobKey],
    );
    return (r.rows[0] as { known: boolean }).known;
  }

  async discard(blobKey: string, now: number) {
    await this.#db.tx((c) => this.discardIn(c, blobKey, now));
  }

  async garbage(limit: number) {
    return (await this.#db.rows<{ blob_key: string }>('SELECT blob_key FROM blob_garbage ORDER BY queued_at, blob_key LIMIT $1', [limit])).map((r) => r.blob_key);
  }

  async forget(blobKeys: string[]) {
    if (blobKeys.length === 0) return;
    await this.#db.query('DELETE FROM blob_garbage WHERE blob_key = ANY($1::text[])', [blobKeys]);
  }
}
