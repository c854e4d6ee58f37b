import type { SqliteDb } from './db.js';
import type { AccessKeyRecord, AccountRepo, UserPolicyRecord, UserRecord } from '../types.js';

interface KeyRow {
  access_key_id: string;
  account_id: string;
  user_name: string | null;
  secret: string;
  status: 'Active' | 'Inactive';
  created_at: number;
}

interface UserRow {
  account_id: string;
  user_name: string;
  created_at: number;
}

interface PolicyRow {
  account_id: string;
  user_name: string;
  policy_name: string;
  document: string;
  updated_at: number;
}

const toKey = (r: KeyRow): AccessKeyRecord => ({
  accessKeyId: r.access_key_id,
  accountId: r.account_id,
  userName: r.user_name,
  secret: r.secret,
  status: r.status,
  createdAt: r.created_at,
});
const toUser = (r: UserRow): UserRecord => ({ accountId: r.account_id, userName: r.user_name, createdAt: r.created_at });
const toPolicy = (r: PolicyRow): UserPolicyRecord => ({
  accountId: r.account_id,
  userName: r.user_name,
  policyName: r.policy_name,
  document: r.document,
  updatedAt: r.updated_at,
});

/**
 * Accounts, users, access keys and user policies. Secrets are stored as given: the caller seals
 * them (SealedAccountRepo in src/auth/secrets.ts), so this repository never sees a plain secret.
 */
export class SqliteAccountRepo implements AccountRepo {
  readonly #s;
  readonly #db: SqliteDb;

  constructor(db: SqliteDb) {
    this.#db = db;
    this.#s = {
      ensure: db.prepare('INSERT INTO accounts (account_id, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING'),
      getKey: db.prepare('SELECT * FROM access_keys WHERE access_key_id = ?'),
      putKey: db.prepare(
        `INSERT INTO access_keys (access_key_id, account_id, user_name, secret, status, created_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (access_key_id) DO UPDATE SET account_id = excluded.account_id, user_name = excluded.user_name,
           secret = excluded.secret, status = excluded.status`,
      ),
      roots: db.prepare('SELECT * FROM access_keys WHERE user_name IS NULL ORDER BY created_at, access_key_id'),
      accounts: db.prepare('SELECT account_id, created_at FROM accounts ORDER BY created_at, account_id'),
      account: db.prepare('SELECT 1 FROM accounts WHERE account_id = ?'),
      createUser: db.prepare('INSERT INTO users (account_id, user_name, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING'),
      getUser: db.prepare('SELECT * FROM users WHERE account_id = ? AND user_name = ?'),
      listUsers: db.prepare('SELECT * FROM users WHERE account_id = ? ORDER BY user_name'),
      deleteUser: db.prepare('DELETE FROM users WHERE account_id = ? AND user_name = ?'),
      deleteUserKeys: db.prepare('DELETE FROM access_keys WHERE account_id = ? AND user_name = ?'),
      keysAll: db.prepare('SELECT * FROM access_keys WHERE account_id = ? ORDER BY created_at, access_key_id'),
      keysRoot: db.prepare('SELECT * FROM access_keys WHERE account_id = ? AND user_name IS NULL ORDER BY created_at, access_key_id'),
      keysUser: db.prepare('SELECT * FROM access_keys WHERE account_id = ? AND user_name = ? ORDER BY created_at, access_key_id'),
      setStatus: db.prepare('UPDATE access_keys SET status = ? WHERE access_key_id = ?'),
      deleteKey: db.prepare('DELETE FROM access_keys WHERE access_key_id = ?'),
      putPolicy: db.prepare(
        `INSERT INTO user_policies (account_id, user_name, policy_name, document, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (account_id, user_name, policy_name) DO UPDATE SET document = excluded.document, updated_at = excluded.updated_at`,
      ),
      getPolicy: db.prepare('SELECT * FROM user_policies WHERE account_id = ? AND user_name = ? AND policy_name = ?'),
      listPolicies: db.prepare('SELECT * FROM user_policies WHERE account_id = ? AND user_name = ? ORDER BY policy_name'),
      deletePolicy: db.prepare('DELETE FROM user_policies WHERE account_id = ? AND user_name = ? AND policy_name = ?'),
    };
  }


  async ensureAccount(accountId: string, now: number) {
    this.#s.ensure.run(accountId, now);
  }

  async getAccessKey(accessKeyId: string) {
    const r = this.#s.getKey.get(accessKeyId) as KeyRow | undefined;
    return r ? toKey(r) : null;
  }

  async putAccessKey(k: AccessKeyRecord) {
    this.#s.putKey.run(k.accessKeyId, k.accountId, k.userName, k.secret, k.status, k.createdAt);
  }

  async findRootKeys() {
    return (this.#s.roots.all() as KeyRow[]).map(toKey);
  }

  async listAccounts() {
    return (this.#s.accounts.all() as { account_id: string; created_at: number }[]).map((r) => ({ accountId: r.account_id, createdAt: r.created_at }));
  }

  async accountExists(accountId: string) {
    return this.#s.account.get(accountId) !== undefined;
  }

  async createUser(accountId: string, userName: string, now: number) {
    return this.#s.createUser.run(accountId, userName, now).changes === 1;
  }

  async getUser(accountId: string, userName: string) {
    const r = this.#s.getUser.get(accountId, userName) as UserRow | undefined;
    return r ? toUser(r) : null;
  }

  async listUsers(accountId: string) {
    return (this.#s.listUsers.all(accountId) as UserRow[]).map(toUser);
  }

  async deleteUser(accountId: string, userName: string) {
    return this.#db.transaction(() => {
      this.#s.deleteUserKeys.run(accountId, userName);
      return this.#s.deleteUser.run(accountId, userName).changes === 1;
    })();
  }

  async listAccessKeys(accountId: string, userName?: string | null) {
    const rows =
      userName === undefined ? this.#s.keysAll.all(accountId) : userName === null ? this.#s.keysRoot.all(accountId) : this.#s.keysUser.all(accountId, userName);
    return (rows as KeyRow[]).map(toKey);
  }

  async setAccessKeyStatus(accessKeyId: string, status: 'Active' | 'Inactive') {
    return this.#s.setStatus.run(status, accessKeyId).changes === 1;
  }

  async deleteAccessKey(accessKeyId: string) {
    return this.#s.deleteKey.run(accessKeyId).changes === 1;
  }

  async putUserPolicy(p: UserPolicyRecord) {
    this.#s.putPolicy.run(p.accountId, p.userName, p.policyName, p.document, p.updatedAt);
  }

  async getUserPolicy(accountId: string, userName: string, policyName: string) {
    const r = this.#s.getPolicy.get(accountId, userName, policyName) as PolicyRow | undefined;
    return r ? toPolicy(r) : null;
  }

  async listUserPolicies(accountId: string, userName: string) {
    return (this.#s.listPolicies.all(accountId, userName) as PolicyRow[]).map(toPolicy);
  }

  async deleteUserPolicy(accountId: string, userName: string, policyName: string) {
    return this.#s.deletePolicy.run(accountId, userName, policyName).changes === 1;
  }
}
