import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteMetadataStore } from '../../src/storage/metadata/sqlite/index.js';
import { migrate, migrationsDir, SchemaTooNewError } from '../../src/storage/metadata/sqlite/db.js';

const latest = Math.max(...readdirSync(migrationsDir()).map((f) => Number(f.slice(0, 3))).filter(Number.isFinite));

test('migrations: applied once; a database migrated by a newer release is refused, naming both versions', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'firn-migrate-'));
  try {
    const file = join(dir, 'meta.db');
    await new SqliteMetadataStore(file).close();
    const db = new Database(file);
    assert.equal(migrate(db), 0, 'nothing left to apply');
    assert.equal((db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number }).v, latest);
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(latest + 1, 'from-the-future.sql', 1);
    db.close();
    assert.throws(
      () => new SqliteMetadataStore(file),
      (e: unknown) =>
        e instanceof SchemaTooNewError &&
        e.databaseVersion === latest + 1 &&
        e.knownVersion === latest &&
        e.message.includes(`schema version ${latest + 1}`) &&
        e.message.includes(`(version ${latest})`),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
