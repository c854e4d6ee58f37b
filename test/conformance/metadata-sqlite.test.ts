import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { SqliteMetadataStore } from '../../src/storage/metadata/sqlite/index.js';
import { metadataStoreSuite } from './metadata-suite.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

metadataStoreSuite('sqlite', async () => {
  const d = mkdtempSync(join(tmpdir(), 'firn-meta-'));
  dirs.push(d);
  return new SqliteMetadataStore(join(d, 'meta.db'));
});
