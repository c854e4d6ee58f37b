import type { SqliteDb } from './db.js';
import type { AccessKeyRecord, AccountRepo } from '../types.js';

interface KeyRow {
  access_key_id: string;
  account_id: string;
  user_name: string | null;
  secret: string;
  status: 'Active' | 'Inactive';
  created_at: number;
}

const toKey = (r: KeyRow): AccessKeyRecord => ({
  accessKeyId: r.access_key_id,
  accountId: r.account_id,
  userName: r.user_name,
  secret: r.secret,
  status: r.status,
  createdAt: r.created_at,
});

export class SqliteAccountRepo implements AccountRepo {
  readonly #s;

  constructor(db: SqliteDb) {
    this.#s = {
      ensure: db.prepare('INSERT INTO accounts (account_id, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING'),
      getKey: db.prepare('SELECT * FROM access_keys WHERE access_key_id = ?'),
      putKey: db.prepare(
        `INSERT INTO access_keys (access_key_id, account_id, user_name, secret, status, created_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (access_key_id) DO UPDATE SET account_id = excluded.account_id, user_name = excluded.user_name,
           secret = excluded.secret, status = excluded.status`,
      ),
      roots: db.prepare('SELECT * FROM access_keys WHERE user_name IS NULL ORDER BY created_at, access_key_id'),
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
}
