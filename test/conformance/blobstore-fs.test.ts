import { after } from 'node:test';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsBlobStore } from '../../src/storage/blobs/fs/index.js';
import { blobStoreConformance } from './blobstore-suite.js';

const root = mkdtempSync(join(tmpdir(), 'firn-blobs-'));
blobStoreConformance(
  'fs',
  async (id) => new FsBlobStore(join(root, id)),
  async (id) => rmSync(join(root, id), { recursive: true, force: true }),
  { tempCount: async (id) => readdirSync(join(root, id, 'tmp')).length },
);
after(() => rmSync(root, { recursive: true, force: true }));
