import Database from 'better-sqlite3';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export type SqliteDb = Database.Database;

/**
 * Numbered, append-only migrations: `migrations/NNN_name.sql`, applied in order, each in its own
 * transaction, recorded in `schema_migrations`. Never edit a migration that has shipped; add one.
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
  migrate(db);
  return db;
}

/** The migration files in order, with their version numbers. */
export function migrationFiles(dir = migrationsDir()): { file: string; version: number }[] {
  return readdirSync(dir)
    .filter((f) => /^\d{3}_.+\.sql$/.test(f))
    .sort()
    .map((file) => ({ file, version: Number(file.slice(0, 3)) }));
}

export function migrate(db: SqliteDb, dir = migrationsDir()): number {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  const applied = new Set((db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version));
  let count = 0;
  for (const { file: f, version } of migrationFiles(dir)) {
    if (applied.has(version)) continue;
    const sql = readFileSync(join(dir, f), 'utf8');
    db.transaction(() => {
      db.exec(sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(version, f, Date.now());
    })();
    count++;
  }
  return count;
}
