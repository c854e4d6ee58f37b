import pg from 'pg';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { createHash } from 'node:crypto';
import { listMigrations, SchemaTooNewError } from '../migrations.js';
import { DataDirError } from '../../data-dir.js';

/** A connection inside one transaction (what repositories run their statements on). */
export type Tx = pg.PoolClient;

/** int8 as a JS number (ids, sizes, times fit in 2^53); numeric (SUM) likewise. bytes_per_hour is read as text. */
export function typeOverrides(): pg.CustomTypesConfig {
  const t = new pg.TypeOverrides();
  t.setTypeParser(pg.types.builtins.INT8, (v: string) => Number(v));
  t.setTypeParser(pg.types.builtins.NUMERIC, (v: string) => Number(v));
  return t;
}

/** The .sql files are read from src/ (not compiled), from src/ (tsx) and dist/ alike. */
export function migrationsDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return join(here, '..', '..', '..', '..', 'src', 'storage', 'metadata', 'postgres', 'migrations');
}

export function expectedVersion(dir = migrationsDir()): number {
  return Math.max(0, ...listMigrations(dir).map((m) => m.version));
}

/** Serialization failure and deadlock: the whole unit is retried. */
const RETRYABLE = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 5;

export class PgDb {
  readonly pool: pg.Pool;
  /** The schema the tables live in (the connection's current_schema()), set by `init`. */
  schema = '';

  constructor(config: pg.PoolConfig) {
    this.pool = new pg.Pool({ ...config, types: typeOverrides() });
    // An idle client's connection dropping is reported here; without a listener it would crash the process.
    this.pool.on('error', (err) => process.emitWarning(`PostgreSQL pool: ${err.message}`));
  }

  /**
   * One unit of work: BEGIN … COMMIT on one pooled connection, rolled back when `fn` throws, and
   * run again (a few times) when PostgreSQL aborts it for a serialization failure or deadlock.
   */
  async tx<T>(fn: (c: Tx) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const c = await this.pool.connect();
      let broken = false;
      try {
        await c.query('BEGIN');
        const r = await fn(c);
        await c.query('COMMIT');
        return r;
      } catch (e) {
        try {
          await c.query('ROLLBACK');
        } catch {
          broken = true;
        }
        const code = (e as { code?: string }).code;
        if (!(code && RETRYABLE.has(code)) || attempt >= MAX_ATTEMPTS) throw e;
      } finally {
        c.release(broken);
      }
    }
  }

  /** One statement outside any explicit transaction (a read, or a single atomic write). */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, args: unknown[] = []): Promise<pg.QueryResult<R>> {
    return this.pool.query<R>(sql, args);
  }

  async rows<R extends pg.QueryResultRow>(sql: string, args: unknown[] = []): Promise<R[]> {
    return (await this.pool.query<R>(sql, args)).rows;
  }

  async one<R extends pg.QueryResultRow>(sql: string, args: unknown[] = []): Promise<R | undefined> {
    return (await this.pool.query<R>(sql, args)).rows[0];
  }

  /** Finds the schema and applies the migrations it lacks (see `migrate`). */
  async init(dir = migrationsDir()): Promise<number> {
    const c = await this.pool.connect();
    try {
      const r = await c.query<{ s: string | null; p: string }>('SELECT current_schema() AS s, current_setting(\'search_path\') AS p');
      const s = r.rows[0]!.s;
      if (!s) throw new Error(`no schema of the search_path (${r.rows[0]!.p}) exists in this database; create it first`);
      this.schema = s;
      return await migrate(c, s, dir);
    } finally {
      c.release();
    }
  }

  /** For admin commands: finds the schema and refuses one that was never migrated (or is too new). */
  async checkMigrated(dir = migrationsDir()): Promise<void> {
    const c = await this.pool.connect();
    try {
      const r = await c.query<{ s: string | null; p: string }>("SELECT current_schema() AS s, current_setting('search_path') AS p");
      const s = r.rows[0]!.s;
      const v = s ? await schemaVersion(c) : null;
      if (!s || !v) throw new SchemaNotMigratedError(s ?? r.rows[0]!.p);
      this.schema = s;
      const known = expectedVersion(dir);
      if (v > known) throw new SchemaTooNewError(v, known);
    } finally {
      c.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/**
 * Admin commands on a PostgreSQL schema that `firn serve` never migrated. A DataDirError (the
 * storage the settings name cannot be used), so every command reports it in one line.
 */
export class SchemaNotMigratedError extends DataDirError {
  constructor(readonly schema: string) {
    super(`the PostgreSQL schema ${schema} holds no Firn metadata (start \`firn serve\` with this FIRN_METADATA_URL once first)`);
  }
}

/** SQLSTATEs and socket errors that mean "cannot use this database at all" (reported in one line at start). */
const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET', '28P01', '28000', '3D000', '3F000', '42501', '08001', '08006', '57P03']);

/**
 * The database named by FIRN_METADATA_URL cannot be reached or used (bad host, password,
 * database). A DataDirError, so `firn serve` and the admin commands report it in one line.
 */
export class MetadataConnectError extends DataDirError {
  constructor(readonly where: string, cause: Error) {
    super(`cannot use the PostgreSQL metadata database ${where}: ${cause.message}`);
  }
}

/** "host:port/db" of a URL, without credentials. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || 'localhost'}:${u.port || '5432'}${u.pathname || '/'}`;
  } catch {
    return '(unparsable FIRN_METADATA_URL)';
  }
}

/** Turns a connection-level failure into a MetadataConnectError; other errors pass unchanged. */
export function connectError(url: string, e: unknown): unknown {
  const code = (e as { code?: string } | null)?.code;
  const connectLevel = code ? CONNECT_CODES.has(code) : /connect|timeout|terminated/i.test(e instanceof Error ? e.message : '');
  if (e instanceof Error && connectLevel) return new MetadataConnectError(describeUrl(url), e);
  return e;
}

/** A 64-bit advisory-lock key for `what`, within one schema (test schemas do not contend). */
export function lockKey(schema: string, what: string): bigint {
  return createHash('sha256').update(`firn\0${schema}\0${what}`).digest().readBigInt64BE(0);
}

/**
 * Applies the migrations the schema lacks, each in its own transaction, recorded in
 * schema_migrations, under a session advisory lock keyed on the schema name: processes opening a
 * fresh schema at once apply each migration exactly once, and separate schemas migrate
 * independently. Refuses (SchemaTooNewError) a schema a newer release migrated further.
 */
export async function migrate(c: pg.PoolClient, schema: string, dir = migrationsDir()): Promise<number> {
  const key = lockKey(schema, 'migrate').toString();
  await c.query('SELECT pg_advisory_lock($1::bigint)', [key]);
  try {
    await c.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
    );
    const files = listMigrations(dir);
    const known = files.length === 0 ? 0 : files[files.length - 1]!.version;
    const applied = new Set((await c.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    const databaseVersion = Math.max(0, ...applied);
    if (databaseVersion > known) throw new SchemaTooNewError(databaseVersion, known);
    let count = 0;
    for (const { file, version } of files) {
      if (applied.has(version)) continue;
      const sql = readFileSync(join(dir, file), 'utf8');
      await c.query('BEGIN');
      try {
        await c.query(sql);
        await c.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [version, file, Date.now()]);
        await c.query('COMMIT');
      } catch (e) {
        await c.query('ROLLBACK').catch(() => {});
        throw e;
      }
      count++;
    }
    return count;
  } finally {
    await c.query('SELECT pg_advisory_unlock($1::bigint)', [key]).catch(() => {});
  }
}

/** Whether the schema the URL names has been migrated (admin commands refuse an empty one). */
export async function schemaVersion(c: pg.ClientBase): Promise<number | null> {
  const r = await c.query<{ t: string | null }>("SELECT to_regclass('schema_migrations')::text AS t");
  if (!r.rows[0]?.t) return null;
  return (await c.query<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations')).rows[0]?.v ?? 0;
}
