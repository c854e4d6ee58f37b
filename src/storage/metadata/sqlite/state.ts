import type { SqliteDb } from './db.js';
import type { StateRepo } from '../types.js';

export class SqliteStateRepo implements StateRepo {
  readonly #s;

  constructor(db: SqliteDb) {
    this.#s = {
      get: db.prepare('SELECT state_value FROM server_state WHERE state_key = ?'),
      put: db.prepare(
        'INSERT INTO server_state (state_key, state_value) VALUES (?, ?) ON CONFLICT (state_key) DO UPDATE SET state_value = excluded.state_value',
      ),
    };
  }

  async get(key: string) {
    const r = this.#s.get.get(key) as { state_value: string } | undefined;
    return r ? r.state_value : null;
  }

  async put(key: string, value: string) {
    this.#s.put.run(key, value);
  }
}
