import type { PgDb } from './db.js';
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
export class PgAccountRepo implements AccountRepo {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  async ensureAccount(accountId: string, now: number) {
    await this.#db.query('INSERT INTO accounts (account_id, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING', [accountId, now]);
  }

  async getAccessKey(accessKeyId: string) {
    const r = await this.#db.one<KeyRow>('SELECT * FROM access_keys WHERE access_key_id = $1', [accessKeyId]);
    return r ? toKey(r) : null;
  }

  async putAccessKey(k: AccessKeyRecord) {
    await this.#db.query(
      `INSERT INTO access_keys (access_key_id, account_id, user_name, secret, status, created_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (access_key_id) DO UPDATE SET account_id = excluded.account_id, user_name = excluded.user_name,
         secret = excluded.secret, status = excluded.status`,
      [k.accessKeyId, k.accountId, k.userName, k.secret, k.status, k.createdAt],
    );
  }

  async findRootKeys() {
    return (await this.#db.rows<KeyRow>('SELECT * FROM access_keys WHERE user_name IS NULL ORDER BY created_at, access_key_id')).map(toKey);
  }

  async listAccounts() {
    return (await this.#db.rows<{ account_id: string; created_at: number }>('SELECT account_id, created_at FROM accounts ORDER BY created_at, account_id')).map((r) => ({
      accountId: r.account_id,
      createdAt: r.created_at,
    }));
  }

  async accountExists(accountId: string) {
    return (await this.#db.one('SELECT 1 FROM accounts WHERE account_id = $1', [accountId])) !== undefined;
  }

  async createUser(accountId: string, userName: string, now: number) {
    return (await this.#db.query('INSERT INTO users (account_id, user_name, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [accountId, userName, now])).rowCount === 1;
  }

  async getUser(accountId: string, userName: string) {
    const r = await this.#db.one<UserRow>('SELECT * FROM users WHERE account_id = $1 AND user_name = $2', [accountId, userName]);
    return r ? toUser(r) : null;
  }

  async listUsers(accountId: string) {
    return (await this.#db.rows<UserRow>('SELECT * FROM users WHERE account_id = $1 ORDER BY user_name', [accountId])).map(toUser);
  }

  async deleteUser(accountId: string, userName: string) {
    return this.#db.tx(async (c) => {
      await c.query('DELETE FROM access_keys WHERE account_id = $1 AND user_name = $2', [accountId, userName]);
      return (await c.query('DELETE FROM users WHERE account_id = $1 AND user_name = $2', [accountId, userName])).rowCount === 1;
    });
  }

  async listAccessKeys(accountId: string, userName?: string | null) {
    const rows =
      userName === undefined
        ? await this.#db.rows<KeyRow>('SELECT * FROM access_keys WHERE account_id = $1 ORDER BY created_at, access_key_id', [accountId])
        : userName === null
          ? await this.#db.rows<KeyRow>('SELECT * FROM access_keys WHERE account_id = $1 AND user_name IS NULL ORDER BY created_at, access_key_id', [accountId])
          : await this.#db.rows<KeyRow>('SELECT * FROM access_keys WHERE account_id = $1 AND user_name = $2 ORDER BY created_at, access_key_id', [accountId, userName]);
    return rows.map(toKey);
  }

  async setAccessKeyStatus(accessKeyId: string, status: 'Active' | 'Inactive') {
    return (await this.#db.query('UPDATE access_keys SET status = $1 WHERE access_key_id = $2', [status, accessKeyId])).rowCount === 1;
  }

  async deleteAccessKey(accessKeyId: string) {
    return (await this.#db.query('DELETE FROM access_keys WHERE access_key_id = $1', [accessKeyId])).rowCount === 1;
  }

  async putUserPolicy(p: UserPolicyRecord) {
    await this.#db.query(
      `INSERT INTO user_policies (account_id, user_name, policy_name, document, updated_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (account_id, user_name, policy_name) DO UPDATE SET document = excluded.document, updated_at = excluded.updated_at`,
      [p.accountId, p.userName, p.policyName, p.document, p.updatedAt],
    );
  }

  async getUserPolicy(accountId: string, userName: string, policyName: string) {
    const r = await this.#db.one<PolicyRow>('SELECT * FROM user_policies WHERE account_id = $1 AND user_name = $2 AND policy_name = $3', [accountId, userName, policyName]);
    return r ? toPolicy(r) : null;
  }

  async listUserPolicies(accountId: string, userName: string) {
    return (await this.#db.rows<PolicyRow>('SELECT * FROM user_policies WHERE account_id = $1 AND user_name = $2 ORDER BY policy_name', [accountId, userName])).map(toPolicy);
  }

  async deleteUserPolicy(accountId: string, userName: string, policyName: string) {
    return (await this.#db.query('DELETE FROM user_policies WHERE account_id = $1 AND user_name = $2 AND policy_name = $3', [accountId, userName, policyName])).rowCount === 1;
  }
}
