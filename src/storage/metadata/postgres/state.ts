import type { PgDb } from './db.js';
import type { StateRepo } from '../types.js';

export class PgStateRepo implements StateRepo {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  async get(key: string) {
    const r = await this.#db.one<{ state_value: string }>('SELECT state_value FROM server_state WHERE state_key = $1', [key]);
    return r ? r.state_value : null;
  }

  async put(key: string, value: string) {
    await this.#db.query(
      'INSERT INTO server_state (state_key, state_value) VALUES ($1, $2) ON CONFLICT (state_key) DO UPDATE SET state_value = excluded.state_value',
      [key, value],
    );
  }
}
