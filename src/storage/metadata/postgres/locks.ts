import type { PgDb, Tx } from './db.js';
import type { VaultLockRecord, VaultLockRepo } from '../types.js';

interface LockRow {
  vault_id: number;
  lock_id: string;
  policy: string;
  state: 'InProgress' | 'Locked';
  created_at: number;
  expires_at: number | null;
}

const toLock = (r: LockRow): VaultLockRecord => ({
  vaultId: r.vault_id,
  lockId: r.lock_id,
  policy: r.policy,
  state: r.state,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
});

const inForce = (r: LockRow | undefined, now: number): LockRow | null =>
  r && !(r.state === 'InProgress' && r.expires_at !== null && now >= r.expires_at) ? r : null;

/**
 * Vault locks (DG vault-lock). Every change first locks the vault row (FOR UPDATE; there may be no
 * lock row yet to lock), then reads the lock row and decides: two InitiateVaultLock calls cannot
 * both succeed, and a Complete cannot race an Abort. An InProgress row at or past `expires_at` is
 * treated as absent and removed by the next change.
 */
export class PgVaultLockRepo implements VaultLockRepo {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  /** Inside a change: the lock in force, after removing one that has expired. */
  async #current(c: Tx, vaultId: number, now: number): Promise<LockRow | null> {
    await c.query('SELECT 1 FROM vaults WHERE id = $1 FOR UPDATE', [vaultId]);
    const r = inForce((await c.query<LockRow>('SELECT * FROM vault_locks WHERE vault_id = $1', [vaultId])).rows[0], now);
    if (!r) await c.query('DELETE FROM vault_locks WHERE vault_id = $1', [vaultId]);
    return r;
  }

  async get(vaultId: number, now: number) {
    const r = inForce(await this.#db.one<LockRow>('SELECT * FROM vault_locks WHERE vault_id = $1', [vaultId]), now);
    return r ? toLock(r) : null;
  }

  async initiate(lock: VaultLockRecord, now: number) {
    return this.#db.tx(async (c): Promise<{ ok: true } | { ok: false; state: 'InProgress' | 'Locked' }> => {
      const r = await this.#current(c, lock.vaultId, now);
      if (r) return { ok: false, state: r.state };
      await c.query('INSERT INTO vault_locks (vault_id, lock_id, policy, state, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)', [
        lock.vaultId,
        lock.lockId,
        lock.policy,
        lock.state,
        lock.createdAt,
        lock.expiresAt,
      ]);
      return { ok: true };
    });
  }

  async complete(vaultId: number, lockId: string, now: number) {
    return this.#db.tx(async (c) => {
      const r = await this.#current(c, vaultId, now);
      if (!r) return 'none' as const;
      if (r.state === 'Locked') return r.lock_id === lockId ? ('already-locked' as const) : ('wrong-id-locked' as const);
      if (r.lock_id !== lockId) return 'wrong-id-in-progress' as const;
      await c.query("UPDATE vault_locks SET state = 'Locked', expires_at = NULL WHERE vault_id = $1", [vaultId]);
      return 'locked' as const;
    });
  }

  async abort(vaultId: number, now: number) {
    return this.#db.tx(async (c) => {
      const r = await this.#current(c, vaultId, now);
      if (!r) return 'none' as const;
      if (r.state === 'Locked') return 'locked' as const;
      await c.query('DELETE FROM vault_locks WHERE vault_id = $1', [vaultId]);
      return 'aborted' as const;
    });
  }
}
