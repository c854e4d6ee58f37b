import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteMetadataStore } from '../../src/storage/metadata/sqlite/index.js';
import type { MetadataBackend } from './metadata-suite.js';

const dirs: string[] = [];

/** SQLite: a database is a file in a fresh temp directory; each handle is its own connection. */
export const backend: MetadataBackend = {
  name: 'sqlite',
  moduleUrl: import.meta.url,
  async createDatabase() {
    const d = mkdtempSync(join(tmpdir(), 'firn-meta-'));
    dirs.push(d);
    return join(d, 'meta.db');
  },
  async open(ref: string) {
    return new SqliteMetadataStore(ref);
  },
  async cleanup() {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  },
};
