import { readdirSync } from 'node:fs';

/** The database was migrated by a newer Firn: this one does not know its schema (any backend). */
export class SchemaTooNewError extends Error {
  constructor(
    readonly databaseVersion: number,
    readonly knownVersion: number,
  ) {
    super(
      `the metadata database is at schema version ${databaseVersion}, newer than this Firn knows (version ${knownVersion}); ` +
        'run the Firn release that migrated it, or a newer one',
    );
  }
}

/** The numbered migration files (`NNN_name.sql`) of a directory in order, with their versions. */
export function listMigrations(dir: string): { file: string; version: number }[] {
  return readdirSync(dir)
    .filter((f) => /^\d{3}_.+\.sql$/.test(f))
    .sort()
    .map((file) => ({ file, version: Number(file.slice(0, 3)) }));
}
