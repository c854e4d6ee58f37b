import Database from 'better-sqlite3';
import { constants } from 'node:fs';
import { chmod, copyFile, mkdir, open, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SqliteMetadataStore } from '../storage/metadata/sqlite/index.js';
import { masterKeyFile } from '../storage/index.js';
import { VERSION } from '../lib/version.js';
import { BACKUP_HOLD_KEY, BACKUP_HOLD_MS } from './hold.js';

/**
 * Backup and restore of the embedded deployment (SQLite + files in one data directory).
 *
 * A backup is consistent while the server runs and uploads continue:
 * 1. hold blob deletion (see hold.ts), so nothing the snapshot references can disappear;
 * 2. snapshot the database with SQLite's online backup API (a read transaction; WAL writers go on);
 * 3. copy every blob the snapshot's `blobs` table lists (blob files are never rewritten: each write
 *    gets a new key, a re-uploaded part a new blob; inventory outputs are blobs held by their jobs),
 *    the legacy job-output files (`<dataDir>/job-outputs`, left by a release before #12, served
 *    until their jobs expire: src/jobs/legacy-outputs.ts) and the master key;
 * 4. write `firn-backup.json` last: a directory without it is an incomplete backup.
 * An archive acknowledged (201) before step 2 began is in the snapshot, and its bytes in the copy.
 */

const MANIFEST = 'firn-backup.json';
const BLOB_KEY_RE = /^[bm][0-9a-f]{32}$/;

export interface BackupManifest {
  format: 1;
  firnVersion: string;
  createdAt: string;
  blobs: number;
  blobBytes: number;
  /** Legacy job-output files copied (releases before #12; inventory outputs are blobs since). */
  jobOutputs: number;
}

export class BackupError extends Error {}

const blobPath = (root: string, key: string) => join(root, 'blobs', 'data', key.slice(-2), key);

async function ensureEmptyDir(dir: string, what: string): Promise<void> {
  try {
    if ((await readdir(dir)).length > 0) throw new BackupError(`${what} ${dir} is not empty`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
}

/** Copies a file (a reflink where the filesystem has them) and makes the copy durable. */
async function copyDurable(from: string, to: string, mode?: number): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  await copyFile(from, to, constants.COPYFILE_FICLONE);
  const fh = await open(to, 'r+');
  try {
    if (mode !== undefined) await fh.chmod(mode);
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

async function copyJobOutputs(fromDataDir: string, toDataDir: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(join(fromDataDir, 'job-outputs'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw e;
  }
  let n = 0;
  for (const f of names.filter((x) => !x.startsWith('.') && !x.endsWith('.tmp'))) {
    try {
      await copyDurable(join(fromDataDir, 'job-outputs', f), join(toDataDir, 'job-outputs', f));
      n++;
    } catch (e) {
      // An output whose job expired meanwhile; the restored server expires that job too.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  return n;
}

/** The blobs a snapshot references. A writable open also turns the copy into a single file (no -wal/-shm beside it). */
function listBlobs(dbFile: string, writable = false): { key: string; size: number }[] {
  const db = new Database(dbFile, { readonly: !writable });
  try {
    if (writable) db.pragma('journal_mode = DELETE');
    return (db.prepare('SELECT blob_key AS key, size FROM blobs').all() as { key: string; size: number }[]).filter((b) => BLOB_KEY_RE.test(b.key));
  } finally {
    db.close();
  }
}

export interface BackupOptions {
  wallNow?: () => number;
  /** Called between the database snapshot and the file copies (tests use it to race the copy). */
  afterSnapshot?: () => Promise<void>;
  /** FIRN_MASTER_KEY_FILE when it is set (default `<data dir>/master.key`). */
  masterKeyFile?: string;
}

export async function backup(dataDir: string, outDir: string, opts: BackupOptions = {}): Promise<BackupManifest> {
  const wallNow = opts.wallNow ?? Date.now;
  await stat(join(dataDir, 'meta.db')).catch(() => {
    throw new BackupError(`no Firn database in ${dataDir}`);
  });
  await ensureEmptyDir(outDir, 'the backup directory');
  const store = new SqliteMetadataStore(join(dataDir, 'meta.db'));
  const hold = () => store.state.put(BACKUP_HOLD_KEY, String(wallNow() + BACKUP_HOLD_MS));
  let renewal: NodeJS.Timeout | null = null;
  try {
    await hold();
    renewal = setInterval(() => void hold().catch(() => {}), BACKUP_HOLD_MS / 4);
    const snapshot = join(outDir, 'meta.db');
    // Everything in one step once started: a step-wise copy restarts whenever the server writes.
    await store.db.backup(snapshot, { progress: ({ remainingPages }) => Math.max(remainingPages, 100) });
    await opts.afterSnapshot?.();
    await chmod(snapshot, 0o600);
    const blobs = listBlobs(snapshot, true);
    let blobBytes = 0;
    for (const b of blobs) {
      const to = blobPath(outDir, b.key);
      await copyDurable(blobPath(dataDir, b.key), to).catch((e: unknown) => {
        throw new BackupError(`blob ${b.key} referenced by the snapshot is missing from ${dataDir} (${(e as Error).message})`);
      });
      blobBytes += (await stat(to)).size;
    }
    const jobOutputs = await copyJobOutputs(dataDir, outDir);
    await copyDurable(masterKeyFile({ dataDir, masterKeyFile: opts.masterKeyFile ?? '' }), join(outDir, 'master.key'), 0o600);
    const manifest: BackupManifest = { format: 1, firnVersion: VERSION, createdAt: new Date(wallNow()).toISOString(), blobs: blobs.length, blobBytes, jobOutputs };
    await writeFile(join(outDir, MANIFEST), JSON.stringify(manifest, null, 2) + '\n', { flush: true });
    return manifest;
  } finally {
    if (renewal) clearInterval(renewal);
    await store.state.put(BACKUP_HOLD_KEY, '0').catch(() => {});
    await store.close();
  }
}

/** Prepares a new data directory from a backup; checks that every blob the database references is there with its size. */
export async function restore(fromDir: string, dataDir: string): Promise<BackupManifest> {
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(await readFile(join(fromDir, MANIFEST), 'utf8')) as BackupManifest;
  } catch {
    throw new BackupError(`${fromDir} holds no complete Firn backup (${MANIFEST} is missing or unreadable)`);
  }
  if (manifest.format !== 1) throw new BackupError(`unsupported backup format ${String(manifest.format)}`);
  await ensureEmptyDir(dataDir, 'the data directory');
  const blobs = listBlobs(join(fromDir, 'meta.db'));
  for (const b of blobs) {
    const from = blobPath(fromDir, b.key);
    const size = (await stat(from).catch(() => null))?.size;
    // A manifest's recorded size is its archive's; its own file is a short member list.
    if (size === undefined || (!b.key.startsWith('m') && size !== b.size)) throw new BackupError(`the backup is damaged: blob ${b.key} is ${size === undefined ? 'missing' : `${size} bytes, expected ${b.size}`}`);
    await copyDurable(from, blobPath(dataDir, b.key));
  }
  await copyJobOutputs(fromDir, dataDir);
  await copyDurable(join(fromDir, 'master.key'), join(dataDir, 'master.key'), 0o600);
  await copyDurable(join(fromDir, 'meta.db'), join(dataDir, 'meta.db'), 0o600);
  // The snapshot was taken under the backup's hold; the restored server must not inherit it.
  const store = new SqliteMetadataStore(join(dataDir, 'meta.db'));
  try {
    await store.state.put(BACKUP_HOLD_KEY, '0');
  } finally {
    await store.close();
  }
  return manifest;
}
