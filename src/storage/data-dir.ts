import Database from 'better-sqlite3';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The embedded data directory: SQLite metadata (`meta.db`), archive files and the master key.
 *
 * Exactly one server owns it. Ownership is an exclusive SQLite lock on `serve.lock`
 * (`locking_mode=EXCLUSIVE`, taken by an empty `BEGIN EXCLUSIVE`): a POSIX record lock that the
 * kernel drops when the process ends, however it ends, so a kill -9 never leaves a lock behind,
 * and that SQLite also enforces between connections of one process. `serve.pid` only tells a
 * refused second server whom to name; the lock alone decides. Admin commands (`firn users`,
 * `firn keys`, `firn credentials`, …) do not take the lock: they work beside the running server.
 */

const LOCK_FILE = 'serve.lock';
const PID_FILE = 'serve.pid';

export class DataDirError extends Error {}

export interface DataDirLock {
  release(): void;
}

/**
 * Takes ownership of `dataDir` (created when missing) or throws DataDirError naming the data
 * directory and the owner's pid. Touches nothing else in the directory.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const db = new Database(join(dir, LOCK_FILE), { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
    db.exec('COMMIT');
  } catch (e) {
    db.close();
    if ((e as { code?: string }).code !== 'SQLITE_BUSY') throw e;
    const pid = ownerPid(dir);
    throw new DataDirError(
      `the data directory ${dir} is in use by another Firn server (${pid ? `pid ${pid}` : 'pid unknown'}); ` +
        'stop it first, or give this one its own --data-dir',
    );
  }
  const pidFile = join(dir, PID_FILE);
  writeFileSync(pidFile, `${process.pid}\n`);
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      rmSync(pidFile, { force: true });
      db.close();
    },
  };
}

function ownerPid(dir: string): number | null {
  try {
    const pid = Number(readFileSync(join(dir, PID_FILE), 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return null;
    process.kill(pid, 0); // throws when no such process: the file is stale
    return pid;
  } catch {
    return null;
  }
}

/**
 * For admin commands: the data directory must already hold a Firn database. Refuses (naming the
 * absolute path) instead of creating an empty one, so a command run from the wrong directory
 * cannot silently start a second, empty Firn.
 */
export function existingMetaDb(dataDir: string): string {
  const dir = resolve(dataDir);
  const file = join(dir, 'meta.db');
  if (!existsSync(file)) {
    throw new DataDirError(
      `no Firn data directory at ${dir} (no meta.db there); pass --data-dir (or set FIRN_DATA_DIR) to the directory \`firn serve\` uses, or start the server once to create it`,
    );
  }
  return file;
}
