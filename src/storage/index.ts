import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { sealedAccounts } from '../auth/secrets.js';
import type { MetadataStore } from './metadata/types.js';
import { SqliteMetadataStore } from './metadata/sqlite/index.js';
import { PgMetadataStore } from './metadata/postgres/index.js';
import type { BlobStore } from './blobs/types.js';
import { openBlobStore, type BlobConfig } from './blobs/index.js';
import { existingMetaDb } from './data-dir.js';

/**
 * The settings that choose and reach the storage backends. `metadataUrl` (FIRN_METADATA_URL):
 * empty or absent → SQLite in the data directory; postgres://… → PostgreSQL. `blobUrl`
 * (FIRN_BLOB_URL): empty or absent → files in the data directory; s3://… → an S3 bucket.
 */
export type StorageConfig = Pick<Config, 'dataDir' | 'masterKeyFile'> & Partial<Pick<Config, 'metadataUrl'>> & BlobConfig;

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

/** Whether the metadata lives in PostgreSQL (FIRN_METADATA_URL set) rather than SQLite in the data directory. */
export function sharedMetadata(config: StorageConfig): boolean {
  return !!config.metadataUrl;
}

/**
 * The embedded/shared switch, decided here only: SQLite in the data directory has one owner (the
 * server holding the data-directory lock), so it is exclusive. A store several servers share
 * (PostgreSQL) is not. `firn serve` asks before it opens anything, to know whether to lock the
 * data directory; `openStorage` reports the same answer.
 *
 * The blob store does not enter into it. S3 bytes with SQLite metadata are still one process (the
 * data-directory lock holds, and a bucket prefix is only as shared as the metadata that owns its
 * keys), so that server may abort every unfinished multipart upload under the prefix at start-up.
 * With S3 bytes each process's data directory holds only scratch files (and SQLite, if used).
 */
export function exclusiveStorage(config: StorageConfig): boolean {
  return !sharedMetadata(config);
}

/**
 * The one place that opens storage (server, `firn credentials`, admin commands): the metadata
 * store FIRN_METADATA_URL chooses (SQLite in the data directory by default) and the blob store
 * FIRN_BLOB_URL chooses (files under the data directory by default; not initialised here). The
 * metadata store seals secret access keys under the master key (src/auth/secrets.ts), whatever
 * the backend. `existing`: refuse (DataDirError) a data directory
 * — or a PostgreSQL schema — that `firn serve` never created, instead of creating it (admin commands).
 */
export async function openStorage(config: StorageConfig, opts: { existing?: boolean } = {}): Promise<Storage> {
  // A server's data directory (scratch, and the default master key's home) exists before anything
  // goes in it, whatever holds the metadata: with PostgreSQL nothing else creates it.
  if (!opts.existing) mkdirSync(config.dataDir, { recursive: true });
  const metadata: SqliteMetadataStore | PgMetadataStore = config.metadataUrl
    ? await PgMetadataStore.open(config.metadataUrl, { migrate: !opts.existing })
    : new SqliteMetadataStore(opts.existing ? existingMetaDb(config.dataDir) : join(config.dataDir, 'meta.db'));
  let blobs: BlobStore;
  try {
    metadata.accounts = await sealedAccounts(metadata.accounts, masterKeyFile(config));
    blobs = openBlobStore(config);
  } catch (e) {
    await metadata.close();
    throw e;
  }
  return { metadata, blobs, exclusive: exclusiveStorage(config) };
}
