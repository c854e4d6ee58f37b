import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { openSqlite, type SqliteDb } from './db.js';
import { SqliteVaultRepo } from './vaults.js';
import { SqliteAccountRepo } from './accounts.js';
import { SqliteStateRepo } from './state.js';
import { SqliteVaultLockRepo } from './locks.js';
import { SqliteSettingsRepo } from './settings.js';
import { SqliteOutboxRepo } from './outbox.js';
import { SqliteJobRepo } from './jobs.js';
import { SqliteBlobRepo } from './blobs.js';
import { SqliteArchiveRepo } from './archives.js';
import { SqliteUploadRepo } from './uploads.js';
import { SqliteStatsRepo } from './stats.js';
import { InProcessSignals } from './signals.js';
import { WalDurability } from './durability.js';
import type { AccountRepo, MetadataStore } from '../types.js';

export class SqliteMetadataStore implements MetadataStore {
  readonly kind = 'sqlite' as const;
  readonly db: SqliteDb;
  /** In-process: only this handle's writes signal (one server owns an SQLite database). */
  readonly signals = new InProcessSignals();
  readonly vaults: SqliteVaultRepo;
  /**
   * Stores secrets as given. `openStorage` (src/storage/index.ts) replaces it with a repository
   * that seals them, which is why Firn opens stores only through that function.
   */
  accounts: AccountRepo;
  readonly state: SqliteStateRepo;
  readonly blobs: SqliteBlobRepo;
  readonly archives: SqliteArchiveRepo;
  readonly uploads: SqliteUploadRepo;
  readonly locks: SqliteVaultLockRepo;
  readonly settings: SqliteSettingsRepo;
  readonly outbox: SqliteOutboxRepo;
  readonly jobs: SqliteJobRepo;
  readonly stats: SqliteStatsRepo;
  readonly durability: WalDurability;

  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.db = openSqlite(file);
    this.durability = new WalDurability(this.db);
    this.blobs = new SqliteBlobRepo(this.db, this.durability);
    this.vaults = new SqliteVaultRepo(this.db, this.blobs);
    this.state = new SqliteStateRepo(this.db);
    this.accounts = new SqliteAccountRepo(this.db);
    this.archives = new SqliteArchiveRepo(this.db, this.blobs);
    this.uploads = new SqliteUploadRepo(this.db, this.blobs, this.archives);
    this.locks = new SqliteVaultLockRepo(this.db);
    this.settings = new SqliteSettingsRepo(this.db);
    this.outbox = new SqliteOutboxRepo(this.db, this.signals);
    this.jobs = new SqliteJobRepo(this.db, this.blobs, this.settings, this.signals);
    this.stats = new SqliteStatsRepo(this.db);
  }

  async close() {
    await this.durability.close();
    if (this.db.open) this.db.close();
  }
}
