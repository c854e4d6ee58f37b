import type pg from 'pg';
import { connectError, PgDb } from './db.js';
import { PgVaultRepo } from './vaults.js';
import { PgAccountRepo } from './accounts.js';
import { PgStateRepo } from './state.js';
import { PgVaultLockRepo } from './locks.js';
import { PgSettingsRepo } from './settings.js';
import { PgOutboxRepo } from './outbox.js';
import { PgJobRepo } from './jobs.js';
import { PgBlobRepo } from './blobs.js';
import { PgArchiveRepo } from './archives.js';
import { PgUploadRepo } from './uploads.js';
import { PgStatsRepo } from './stats.js';
import { PgSignals } from './signals.js';
import type { AccountRepo, MetadataStore } from '../types.js';

export interface PgStoreOptions {
  /** Connections in this process's pool (default 10). */
  maxConnections?: number;
}

/**
 * The PostgreSQL MetadataStore (scale-out mode): several Firn processes share one database. Each
 * method is one transaction on a pooled connection, taking the row locks its "Locks:" note names;
 * signals travel by LISTEN/NOTIFY. Open it with `PgMetadataStore.open`, which migrates the schema.
 */
export class PgMetadataStore implements MetadataStore {
  readonly kind = 'postgres' as const;
  readonly db: PgDb;
  readonly signals: PgSignals;
  readonly vaults: PgVaultRepo;
  /** Stores secrets as given; `openStorage` replaces it with a repository that seals them. */
  accounts: AccountRepo;
  readonly state: PgStateRepo;
  readonly blobs: PgBlobRepo;
  readonly archives: PgArchiveRepo;
  readonly uploads: PgUploadRepo;
  readonly locks: PgVaultLockRepo;
  readonly settings: PgSettingsRepo;
  readonly outbox: PgOutboxRepo;
  readonly jobs: PgJobRepo;
  readonly stats: PgStatsRepo;

  private constructor(config: pg.PoolConfig) {
    this.db = new PgDb(config);
    this.signals = new PgSignals(config, () => this.db.schema);
    this.blobs = new PgBlobRepo(this.db);
    this.vaults = new PgVaultRepo(this.db, this.blobs);
    this.state = new PgStateRepo(this.db);
    this.accounts = new PgAccountRepo(this.db);
    this.archives = new PgArchiveRepo(this.db, this.blobs);
    this.uploads = new PgUploadRepo(this.db, this.blobs, this.archives);
    this.locks = new PgVaultLockRepo(this.db);
    this.settings = new PgSettingsRepo(this.db);
    this.outbox = new PgOutboxRepo(this.db);
    this.jobs = new PgJobRepo(this.db, this.blobs, this.settings);
    this.stats = new PgStatsRepo(this.db);
  }

  /**
   * Connects to `url` (postgres://…; ?sslmode=…, `options=-c search_path=<schema>` and the other
   * parameters pg understands) and applies the migrations the schema lacks. With `migrate: false`
   * nothing is created: the schema must already be migrated (admin commands).
   */
  static async open(url: string, opts: PgStoreOptions & { migrate?: boolean } = {}): Promise<PgMetadataStore> {
    const s = new PgMetadataStore({ connectionString: url, max: opts.maxConnections ?? 10 });
    try {
      if (opts.migrate === false) await s.db.checkMigrated();
      else await s.db.init();
    } catch (e) {
      await s.db.close().catch(() => {});
      throw connectError(url, e);
    }
    return s;
  }

  async close() {
    await this.signals.close();
    await this.db.close();
  }
}
