import type { Readable } from 'node:stream';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { openStorage } from '../../src/storage/index.js';
import { createApp } from '../../src/app.js';
import { defaultConfig, loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { OffsetClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/logger.js';
import type { ArchiveCursor, ArchiveRepoContract, MetadataStore } from '../../src/storage/metadata/types.js';
import type { BlobReaderContract } from '../../src/storage/blobs/types.js';
import { REGION, TEST_ACCOUNT } from './server.js';

/** Where a (stopped) server kept its data: the data directory, and its FIRN_METADATA_URL if any. */
export interface StoredAt {
  dataDir: string;
  metadataUrl?: string | undefined;
  /** The server's FIRN_* environment (e.g. the S3 blob store's settings), when more than the above. */
  env?: Record<string, string>;
}

function configOf(where: StoredAt): Config {
  const { dataDir, metadataUrl } = where;
  return where.env ? loadConfig({ ...where.env, FIRN_DATA_DIR: dataDir, ...(metadataUrl ? { FIRN_METADATA_URL: metadataUrl } : {}) }) : defaultConfig({ dataDir, ...(metadataUrl ? { metadataUrl } : {}) });
}

export interface ArchiveView {
  archiveId: string;
  description: string;
  size: number;
  treeHash: string;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Opens a stopped server's data directory in-process (the same composition root the server uses,
 * so start-up recovery runs exactly as on a restart) and walks the vault's live archives through
 * the storage contracts (`store.archives.list`, `app.blobs.read`), handing each one to `visit`
 * with a reader for its bytes. This looks underneath the HTTP API: nothing cached in a job output
 * or an inventory snapshot can hide a half-written archive here.
 */
export async function verifyArchivesThroughStore(
  where: StoredAt,
  vaultName: string,
  visit: (view: ArchiveView, read: () => Promise<Buffer>) => Promise<void>,
): Promise<ArchiveView[]> {
  const { dataDir } = where;
  const app = await createApp({ config: configOf(where), clock: new OffsetClock(), log: silentLogger() });
  try {
    const store = app.store as MetadataStore & { archives?: ArchiveRepoContract };
    const blobs = (app as unknown as { blobs?: BlobReaderContract }).blobs;
    if (!store.archives || !blobs) throw new Error('store.archives / app.blobs are not available');
    const vault = await store.vaults.get({ accountId: TEST_ACCOUNT, region: REGION, name: vaultName });
    if (!vault) throw new Error(`vault ${vaultName} not found in ${dataDir}`);
    const out: ArchiveView[] = [];
    let after: ArchiveCursor | undefined;
    for (;;) {
      const page = await store.archives.list(vault.id, { limit: 500, ...(after ? { after } : {}) });
      for (const a of page) {
        const view = { archiveId: a.archiveId, description: a.description, size: a.size, treeHash: a.treeHash };
        out.push(view);
        await visit(view, () => readAll(blobs.read(a.blobKey, 0, a.size)));
      }
      if (page.length < 500) break;
      const last = page[page.length - 1]!;
      after = { createdAt: last.createdAt, archiveId: last.archiveId };
    }
    return out;
  } finally {
    await app.close();
  }
}

/**
 * What a stopped server left on disk, read without running start-up recovery (which would hide
 * leftovers): temp files under `blobs/tmp`, and committed blob files that the metadata does not
 * know (a crash between rename and metadata commit that nobody cleaned up = leaked space).
 */
export async function leftoverBlobFiles(where: StoredAt): Promise<{ tempFiles: string[]; unknownBlobs: string[]; blobFiles: number }> {
  const tmp = join(where.dataDir, 'blobs', 'tmp');
  const tempFiles = existsSync(tmp) ? readdirSync(tmp) : [];
  const { metadata: store, blobs } = await openStorage(configOf(where), { existing: true });
  try {
    const unknownBlobs: string[] = [];
    let blobFiles = 0;
    for await (const key of blobs.list()) {
      blobFiles++;
      if (!(await store.blobs.known(key))) unknownBlobs.push(key);
    }
    return { tempFiles, unknownBlobs, blobFiles };
  } finally {
    await blobs.close();
    await store.close();
  }
}
