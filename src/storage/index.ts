import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { sealedAccounts } from '../auth/secrets.js';
import type { MetadataStore } from './metadata/types.js';
import { SqliteMetadataStore } from './metadata/sqlite/index.js';
import type { BlobStore } from './blobs/types.js';
import { FsBlobStore } from './blobs/fs/index.js';
import { existingMetaDb } from './data-dir.js';

/** The settings that choose and reach the storage backends. */
export type StorageConfig = Pick<Config, 'dataDir' | 'masterKeyFile'>;

export interface Storage {
  readonly metadata: MetadataStore;
  /** Not initialised: the server's start-up (BlobMaintenance.startup) does that, admin commands never. */
  readonly blobs: BlobStore;
  /**
   * Whether the server using this storage is the only process using it (embedded mode), as
   * `exclusiveStorage` says. Only an exclusive server's start-up may void what a predecessor left
   * (release every job claim, reschedule the whole outbox, reap every pending blob, empty temp
   * areas) and only it owns the data directory (lockDataDir); a shared store (several servers on
   * one database) leaves that to leases.
   */
  readonly exclusive: boolean;
}

export function masterKeyFile(config: StorageConfig): string {
  return config.masterKeyFile || join(config.dataDir, 'master.key');
}

/**
 * The embedded/shared switch, decided here only: SQLite in the data directory has one owner (the
 * server holding the data-directory lock), so it is exclusive. A store several servers share
 * (PostgreSQL) is not. `firn serve` asks before it opens anything, to know whether to lock the
 * data directory; `openStorage` reports the same answer.
 */
export function exclusiveStorage(_config: StorageConfig): boolean {
  return true;
}

/**
 * The one place that opens storage (server, `firn credentials`, admin commands): SQLite metadata
 * and files under the data directory. The metadata store seals secret access keys under the
 * master key (src/auth/secrets.ts), whatever the backend. `existing`: refuse (DataDirError) a data
 * directory `firn serve` never created, instead of creating it (admin commands).
 */
export async function openStorage(config: StorageConfig, opts: { existing?: boolean } = {}): Promise<Storage> {
  const metadata = new SqliteMetadataStore(opts.existing ? existingMetaDb(config.dataDir) : join(config.dataDir, 'meta.db'));
  try {
    metadata.accounts = await sealedAccounts(metadata.accounts, masterKeyFile(config));
  } catch (e) {
    await metadata.close();
    throw e;
  }
  return { metadata, blobs: new FsBlobStore(join(config.dataDir, 'blobs')), exclusive: exclusiveStorage(config) };
}
