import type { SqliteDb } from './db.js';
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

/**
 * Vault locks (DG vault-lock). Every change reads the row and decides in one IMMEDIATE transaction
 * (the write lock is taken before the read), so two concurrent InitiateVaultLock calls cannot both
 * succeed, a Complete cannot race an Abort, and a second process on the same file waits for the
 * lock instead of failing with SQLITE_BUSY when its read snapshot went stale. Expiry is by the
 * domain clock passed in: an InProgress row at or past `expires_at` is treated as absent ("the
 * lock ID expires and the policy is removed") and removed by the next change.
 */
export class SqliteVaultLockRepo implements VaultLockRepo {
  readonly #db: SqliteDb;
  readonly #s;

  constructor(db: SqliteDb) {
    this.#db = db;
    this.#s = {
      get: db.prepare('SELECT * FROM vault_locks WHERE vault_id = ?'),
      del: db.prepare('DELETE FROM vault_locks WHERE vault_id = ?'),
      insert: db.prepare('INSERT INTO vault_locks (vault_id, lock_id, policy, state, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)'),
      lock: db.prepare("UPDATE vault_locks SET state = 'Locked', expires_at = NULL WHERE vault_id = ?"),
    };
  }

  #inForce(vaultId: number, now: number): LockRow | null {
    const r = this.#s.get.get(vaultId) as LockRow | undefined;
    return r && !(r.state === 'InProgress' && r.expires_at !== null && now >= r.expires_at) ? r : null;
  }

  /** Inside a change: the lock in force, after removing one that has expired. */
  #current(vaultId: number, now: number): LockRow | null {
    const r = this.#inForce(vaultId, now);
    if (!r) this.#s.del.run(vaultId);
    return r;
  }

  /** Read-only (it runs on every authorized request). */
  async get(vaultId: number, now: number) {
    const r = this.#inForce(vaultId, now);
    return r ? toLock(r) : null;
  }

  async initiate(lock: VaultLockRecord, now: number) {
    return this.#db.transaction((): { ok: true } | { ok: false; state: 'InProgress' | 'Locked' } => {
      const r = this.#current(lock.vaultId, now);
      if (r) return { ok: false, state: r.state };
      this.#s.insert.run(lock.vaultId, lock.lockId, lock.policy, lock.state, lock.createdAt, lock.expiresAt);
      return { ok: true };
    }).immediate();
  }

  async complete(vaultId: number, lockId: string, now: number) {
    return this.#db.transaction(() => {
      const r = this.#current(vaultId, now);
      if (!r) return 'none' as const;
      if (r.state === 'Locked') return r.lock_id === lockId ? ('already-locked' as const) : ('wrong-id-locked' as const);
      if (r.lock_id !== lockId) return 'wrong-id-in-progress' as const;
      this.#s.lock.run(vaultId);
      return 'locked' as const;
    }).immediate();
  }

  async abort(vaultId: number, now: number) {
    return this.#db.transaction(() => {
      const r = this.#current(vaultId, now);
      if (!r) return 'none' as const;
      if (r.state === 'Locked') return 'locked' as const;
      this.#s.del.run(vaultId);
      return 'aborted' as const;
    }).immediate();
  }
}
