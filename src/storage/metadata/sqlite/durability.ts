import { closeSync, fstatSync, openSync } from 'node:fs';
import { resolve } from 'node:path';
import type { SqliteDb } from './db.js';
import { GroupSync } from '../../group-sync.js';

/**
 * Commits whose fsync is deferred and shared. The database runs with `synchronous = FULL`: every
 * commit fsyncs the write-ahead log before it returns, on the main thread (≈ 0.3 ms here). A few
 * hot commits whose durability can wait (a pending blob's record, needed on disk only before its
 * bytes are published, while the body still streams) run instead with `synchronous = NORMAL` and
 * then fsync the WAL file themselves, on the libuv pool and shared by every caller waiting at
 * that moment (GroupSync):
 * - After the NORMAL commit returns, the transaction is in the WAL through write(2): it survives a
 *   crash of this process (kill -9) at once, as SQLite documents for WAL mode with NORMAL.
 * - After an fsync of the WAL file that started after that commit, it survives power loss too:
 *   the frames and the commit record are on disk, exactly as after SQLite's own fsync of a FULL
 *   commit. A checkpoint that moved the frames into the database file meanwhile synced that file
 *   first (WAL + NORMAL syncs at every checkpoint), and the WAL is only rewritten from its start
 *   after such a checkpoint, so frames are never lost between the commit and the fsync.
 * - The WAL file is the one this connection keeps open for its whole life (SQLite deletes it only
 *   when the last connection closes, after a synced checkpoint). Should it have been unlinked
 *   anyway (link count 0), it is reopened by name before the fsync.
 * Without a WAL (in-memory database) a deferred commit is an ordinary one, durable at once.
 */
export class WalDurability {
  readonly #db: SqliteDb;
  readonly #path: string | null;
  #fd = -1;
  readonly #group: GroupSync;

  constructor(db: SqliteDb, fsyncImpl?: ConstructorParameters<typeof GroupSync>[1]) {
    this.#db = db;
    // Without a WAL (an in-memory database; a file system where SQLite could not switch to WAL)
    // a deferred commit is an ordinary FULL one.
    this.#path = db.memory || db.pragma('journal_mode', { simple: true }) !== 'wal' ? null : `${resolve(db.name)}-wal`;
    this.#group = new GroupSync(() => this.#walFd(), fsyncImpl);
  }

  #walFd(): number {
    if (this.#fd >= 0 && fstatSync(this.#fd).nlink > 0) return this.#fd;
    if (this.#fd >= 0) closeSync(this.#fd);
    this.#fd = -1;
    this.#fd = openSync(this.#path!, 'r');
    return this.#fd;
  }

  /**
   * Runs `fn` in an IMMEDIATE transaction committed with `synchronous = NORMAL` (then FULL again,
   * whatever happens). Returns its result and `durable`, which resolves once the commit would
   * survive power loss (rejects if the fsync fails).
   */
  commit<T>(fn: () => T): { result: T; durable: Promise<void> } {
    if (this.#path === null) return { result: this.#db.transaction(fn).immediate(), durable: Promise.resolve() };
    this.#db.exec('PRAGMA synchronous = NORMAL');
    let result: T;
    try {
      result = this.#db.transaction(fn).immediate();
    } finally {
      this.#db.exec('PRAGMA synchronous = FULL');
    }
    const durable = this.sync();
    durable.catch(() => {}); // a caller that gave up early must not crash the process
    return { result, durable };
  }

  /**
   * Resolves once everything committed before the call is on disk. Rejects if the WAL cannot be
   * opened (it cannot be missing while this connection is open and has just committed: better a
   * failed upload than one acknowledged on a guess).
   */
  async sync(): Promise<void> {
    if (this.#path === null) return;
    await this.#group.sync();
  }

  async close(): Promise<void> {
    await this.#group.idle();
    if (this.#fd >= 0) closeSync(this.#fd);
    this.#fd = -1;
  }
}
