import pg from 'pg';
import { randomBytes } from 'node:crypto';

/**
 * Which metadata backend the API and end-to-end tests run on: FIRN_TEST_METADATA=postgres runs
 * them on PostgreSQL (each test server on a fresh schema of the database FIRN_TEST_METADATA_URL
 * names), anything else on SQLite in the server's data directory. `npm test` runs test/api and
 * test/e2e once per backend (scripts/test.mjs).
 */
export function testMetadataBackend(): 'sqlite' | 'postgres' {
  return process.env.FIRN_TEST_METADATA === 'postgres' ? 'postgres' : 'sqlite';
}

export function onPostgres(): boolean {
  return testMetadataBackend() === 'postgres';
}

function baseUrl(): string {
  const url = process.env.FIRN_TEST_METADATA_URL;
  if (!url) {
    throw new Error(
      'FIRN_TEST_METADATA=postgres needs FIRN_TEST_METADATA_URL (postgres://… of a database the tests may fill); ' +
        '`npm test` starts one with scripts/postgres.sh',
    );
  }
  return url;
}

/** The URL of `schema` in the test database (`options=-c search_path=<schema>`). */
export function schemaUrl(schema: string, base = baseUrl()): string {
  const u = new URL(base);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}

function schemaOf(url: string): string {
  const m = /search_path=(\w+)/.exec(new URL(url).searchParams.get('options') ?? '');
  if (!m) throw new Error(`no search_path in ${url}`);
  return m[1]!;
}

/** Runs `fn` on a connection to the test database (no search_path). */
export async function adminQuery<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: baseUrl() });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Creates an empty schema in the test database and returns its URL (the server migrates it). */
export async function freshSchemaUrl(): Promise<string> {
  const schema = `firn_t_${process.pid}_${randomBytes(6).toString('hex')}`;
  await adminQuery((c) => c.query(`CREATE SCHEMA ${schema}`));
  return schemaUrl(schema);
}

export async function dropSchema(url: string): Promise<void> {
  const schema = schemaOf(url);
  await adminQuery((c) => c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
}

/**
 * A metadata URL for a new test server: a fresh schema on PostgreSQL, undefined (SQLite in the
 * data directory) otherwise.
 */
export async function testMetadataUrl(): Promise<string | undefined> {
  return onPostgres() ? freshSchemaUrl() : undefined;
}

/** One query against the schema `url` names (tests that look under the API at what a server stored). */
export async function queryMetadata<R extends pg.QueryResultRow = any>(url: string, sql: string, params: unknown[] = []): Promise<R[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<R>(sql, params)).rows;
  } finally {
    await c.end();
  }
}
