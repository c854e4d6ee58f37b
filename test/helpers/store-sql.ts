import pg from 'pg';
import type { SqliteMetadataStore } from '../../src/storage/metadata/sqlite/index.js';
import type { TestServer } from './server.js';

/**
 * Rows of one query against a test server's metadata, on either backend, for tests that look
 * under the API at what the server stored. Table and column names are the same on both; write
 * `?` placeholders (SQLite's), which become $1..$n on PostgreSQL. PostgreSQL's BIGINT values
 * (COUNT(*), times, counters) come back as numbers, as SQLite gives them.
 */
export async function storeRows<R = any>(t: TestServer, sql: string, params: unknown[] = []): Promise<R[]> {
  if (!t.metadataUrl) return (t.running.app.store as SqliteMetadataStore).db.prepare(sql).all(...params) as R[];
  let n = 0;
  const c = new pg.Client({ connectionString: t.metadataUrl });
  await c.connect();
  try {
    const r = await c.query({ text: sql.replace(/\?/g, () => `$${++n}`), values: params, types: { getTypeParser: bigintAsNumber } });
    return r.rows as R[];
  } finally {
    await c.end();
  }
}

/** The first row of `storeRows`, or undefined. */
export async function storeRow<R = any>(t: TestServer, sql: string, params: unknown[] = []): Promise<R | undefined> {
  return (await storeRows<R>(t, sql, params))[0];
}

const INT8 = 20;

function bigintAsNumber(oid: number, format?: string): (v: string) => unknown {
  if (oid !== INT8) return pg.types.getTypeParser(oid, format as 'text');
  return (v: string) => {
    const n = Number(v);
    if (!Number.isSafeInteger(n)) throw new Error(`BIGINT ${v} is past 2^53; compare it as a string`);
    return n;
  };
}
