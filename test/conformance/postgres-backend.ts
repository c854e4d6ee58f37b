import { randomBytes } from 'node:crypto';
import { PgMetadataStore } from '../../src/storage/metadata/postgres/index.js';
import type { MetadataBackend } from './metadata-suite.js';
import { adminQuery, schemaUrl } from '../helpers/metadata.js';

/** Runs `fn` on a connection to the test database (no search_path). */
export const admin = adminQuery;

/**
 * PostgreSQL: a "database" is a fresh schema in the database FIRN_TEST_METADATA_URL names, reached
 * with `options=-c search_path=<schema>` in the URL; each handle is its own pool. The test file
 * provides the URL (starting a server with scripts/postgres.sh when it is unset). Importing this
 * module has no side effect, so the race workers can load it.
 */
const schemas: string[] = [];

/** Creates an empty schema and returns its URL. */
export async function freshSchema(): Promise<string> {
  const schema = `firn_t_${process.pid}_${schemas.length}_${randomBytes(4).toString('hex')}`;
  await adminQuery((c) => c.query(`CREATE SCHEMA ${schema}`));
  schemas.push(schema);
  return schemaUrl(schema);
}

export const backend: MetadataBackend = {
  name: 'postgres',
  moduleUrl: import.meta.url,
  crossHandleSignals: true,
  createDatabase: freshSchema,
  async open(ref: string) {
    return PgMetadataStore.open(ref, { maxConnections: 4 });
  },
  async cleanup() {
    const made = schemas.splice(0);
    if (made.length === 0) return;
    await adminQuery(async (c) => {
      for (const s of made) await c.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
    });
  },
};
