import type { Command } from 'commander';
import { resolve } from 'node:path';
import { backup, BackupError, restore } from '../backup/index.js';

/** `firn backup` and `firn restore` (the embedded deployment: SQLite + files in one data directory). */
export function registerBackupCommands(program: Command): void {
  program
    .command('backup')
    .description('copy the data directory consistently while the server runs (database snapshot, archive files, master key)')
    .requiredOption('--output <dir>', 'new or empty directory for the copy')
    .option('--data-dir <dir>', 'data directory', process.env.FIRN_DATA_DIR || './data')
    .option('--master-key-file <file>', 'master key (default <data dir>/master.key)', process.env.FIRN_MASTER_KEY_FILE || '')
    .action(async (o: { output: string; dataDir: string; masterKeyFile: string }) =>
      fail(async () => {
        if (process.env.FIRN_METADATA_URL) {
          // The metadata is not in the data directory: a copy of it would hold no database.
          throw new BackupError('firn backup copies an embedded data directory (SQLite); with FIRN_METADATA_URL set, back up PostgreSQL with pg_dump and the blobs and master key separately (docs/operations.md)');
        }
        const m = await backup(o.dataDir, o.output, { masterKeyFile: o.masterKeyFile });
        process.stdout.write(
          `Backed up ${o.dataDir} to ${resolve(o.output)}: database snapshot, ${m.blobs} blob files (${m.blobBytes} bytes; archives, parts and inventory outputs)${m.jobOutputs > 0 ? `, ${m.jobOutputs} legacy job output files` : ''}, master key.\n` +
            `WARNING: the copy holds master.key, the key that decrypts every stored secret access key. Guard it like the data directory itself.\n` +
            `Restore with: firn restore --from ${o.output} --data-dir <new data dir>\n`,
        );
      }),
    );
  program
    .command('restore')
    .description('prepare a new data directory from a backup; then start `firn serve --data-dir` on it')
    .requiredOption('--from <dir>', 'a directory written by `firn backup`')
    .requiredOption('--data-dir <dir>', 'new or empty data directory to create')
    .action(async (o: { from: string; dataDir: string }) =>
      fail(async () => {
        const m = await restore(o.from, o.dataDir);
        process.stdout.write(`Restored the backup of ${m.createdAt} (${m.blobs} blob files) into ${resolve(o.dataDir)}. Start it with: firn serve --data-dir ${o.dataDir}\n`);
      }),
    );
}

async function fail(f: () => Promise<void>): Promise<void> {
  try {
    await f();
  } catch (e) {
    if (e instanceof BackupError) {
      process.stderr.write(`firn: ${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
}
