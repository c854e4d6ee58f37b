import Database from 'better-sqlite3';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { SchemaTooNewError } from '../migrations.js';

export type SqliteDb = Database.Database;

/**
 * Numbered, append-only migrations: `migrations/NNN_name.sql`, applied in order, each in its own
 * transaction, recorded in `schema_migrations` (see `migrate`). Never edit a migration that has shipped; add one.
 * The .sql files are read from src/ (they are not compiled), so this resolves them relative to
 * the package root whether running from src/ (tsx) or dist/.
 */
export function migrationsDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // here = <root>/src/storage/metadata/sqlite or <root>/dist/storage/metadata/sqlite
  return join(here, '..', '..', '..', '..', 'src', 'storage', 'metadata', 'sqlite', 'migrations');
}

export function openSqlite(file: string): SqliteDb {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // FULL: every commit fsyncs the WAL, so a 201 survives power loss, not only a process crash.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  try {
    migrate(db);
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}

/** The migration files in order, with their version numbers. */
export function migrationFiles(dir = migrationsDir()): { file: string; version: number }[] {
  return readdirSync(dir)
    .filter((f) => /^\d{3}_.+\.sql$/.test(f))
    .sort()
    .map((file) => ({ file, version: Number(file.slice(0, 3)) }));
}

export { SchemaTooNewError } from '../migrations.js';

/**
 * Applies the migrations this database lacks. Each one runs in its own IMMEDIATE transaction and
 * re-checks, under the write lock, that nobody applied it meanwhile, so processes opening a fresh
 * database at once apply each migration exactly once. Refuses (SchemaTooNewError) a database that a
 * newer release migrated further than the migrations here.
 */
export function migrate(db: SqliteDb, dir = migrationsDir()): number {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  const files = migrationFiles(dir);
  const known = files.length === 0 ? 0 : files[files.length - 1]!.version;
  const databaseVersion = (db.prepare('SELECT MAX(version) FROM schema_migrations').pluck().get() as number | null) ?? 0;
  if (databaseVersion > known) throw new SchemaTooNewError(databaseVersion, known);
  const isApplied = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?');
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  let count = 0;
  for (const { file: f, version } of files) {
    if (isApplied.get(version)) continue;
    const sql = readFileSync(join(dir, f), 'utf8');
    const applied = db
      .transaction(() => {
        if (isApplied.get(version)) return false;
        db.exec(sql);
        record.run(version, f, Date.now());
        return true;
      })
      .immediate();
    if (applied) count++;
  }
  return count;
}
