import { test } from 'node:test';
import type { MetadataStore } from '../../src/storage/metadata/types.js';
import { vaultSection } from './metadata/vaults.js';
import { accountSection } from './metadata/accounts.js';
import { lockSection } from './metadata/locks.js';
import { settingsSection } from './metadata/settings.js';
import { outboxSection } from './metadata/outbox.js';
import { archiveSection } from './metadata/archives.js';
import { uploadSection } from './metadata/uploads.js';
import { pendingSection } from './metadata/pending.js';
import { jobSection } from './metadata/jobs.js';
import { concurrencySection } from './metadata/concurrency.js';

/**
 * A MetadataStore backend under test. `moduleUrl` names a module that exports it as `backend`:
 * the concurrency section opens extra handles in worker threads (SQLite's driver is synchronous,
 * so two handles in one thread never interleave inside a method), and a worker imports that module.
 * Keep it free of test() calls.
 */
export interface MetadataBackend {
  readonly name: string;
  readonly moduleUrl: string;
  /** Makes a new, empty database and returns what `open` needs to reach it (a file path, a URL). */
  createDatabase(): Promise<string>;
  /** Opens one handle (its own connection or pool) on a database made by createDatabase. */
  open(ref: string): Promise<MetadataStore>;
  /** Removes every database this backend made (called once, after the suite). */
  cleanup?(): Promise<void>;
  /**
   * Whether a handle's listeners hear signals of commits made through other handles on the same
   * database (PostgreSQL: LISTEN/NOTIFY). SQLite signals in-process only (one server owns the
   * database), so it leaves this unset and skips that test.
   */
  readonly crossHandleSignals?: boolean;
}

export interface SuiteContext {
  backend: MetadataBackend;
  /** A test that gets one handle on a fresh database. */
  withStore(name: string, fn: (s: MetadataStore) => Promise<void>): void;
  /** A test that gets a fresh database's reference and one handle on it. */
  withDatabase(name: string, fn: (ref: string, s: MetadataStore) => Promise<void>): void;
}

/**
 * The MetadataStore conformance suite: every repository's documented contract (types.ts), then a
 * concurrency section that races several handles on one database. Every backend runs it through
 * its own *.test.ts file.
 */
export function metadataStoreSuite(backend: MetadataBackend): void {
  const withDatabase = (name: string, fn: (ref: string, s: MetadataStore) => Promise<void>) =>
    test(`[${backend.name}] ${name}`, async () => {
      const ref = await backend.createDatabase();
      const s = await backend.open(ref);
      try {
        await fn(ref, s);
      } finally {
        await s.close();
      }
    });
  const ctx: SuiteContext = { backend, withDatabase, withStore: (name, fn) => withDatabase(name, (_ref, s) => fn(s)) };
  vaultSection(ctx);
  accountSection(ctx);
  lockSection(ctx);
  settingsSection(ctx);
  outboxSection(ctx);
  archiveSection(ctx);
  uploadSection(ctx);
  pendingSection(ctx);
  jobSection(ctx);
  concurrencySection(ctx);
}
