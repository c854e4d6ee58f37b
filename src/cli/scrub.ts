import { join } from 'node:path';
import type { Command } from 'commander';
import { openStorage } from '../storage/index.js';
import { ConfigError, loadConfig } from '../config/load.js';
import { DataDirError } from '../storage/data-dir.js';
import { describeFinding, scrub, type ScrubProgress } from '../storage/scrub.js';

const GiB = 1024 ** 3;

/** A progress line on a terminal, redrawn at most 5 times a second. */
function progressLine(out: NodeJS.WriteStream, started: number): { update: (p: ScrubProgress) => void; clear: () => void } {
  let last = 0;
  let shown = false;
  return {
    update(p) {
      const now = performance.now();
      if (now - last < 200) return;
      last = now;
      shown = true;
      const pct = p.totalBytes > 0 ? Math.min(100, (100 * p.bytes) / p.totalBytes) : 100;
      const rate = p.bytes / 1024 ** 2 / Math.max(0.001, (now - started) / 1000);
      out.write(`\r\x1b[Kscrub: ${(p.bytes / GiB).toFixed(2)} / ${(p.totalBytes / GiB).toFixed(2)} GiB (${pct.toFixed(0)}%), ${p.items} checked, ${rate.toFixed(0)} MiB/s`);
    },
    clear() {
      if (shown) out.write('\r\x1b[K');
    },
  };
}

/**
 * `firn scrub`: reads every archive (and every part of multipart uploads in progress) of the data
 * directory and checks it against the SHA-256 leaf hashes recorded when it arrived. Safe beside a
 * running server: it only reads. Prints one line per damaged archive or part on stdout; exits 1
 * when it found any, 0 when all are sound.
 */
export function registerScrubCommand(program: Command): void {
  program
    .command('scrub')
    .description('re-verify stored archives and multipart parts against their SHA-256 tree hash leaves; exit 1 if any is damaged')
    .option('--data-dir <dir>', 'data directory', process.env.FIRN_DATA_DIR || './data')
    .option('--account-id <id>', 'only this account (default: every account)')
    .option('--master-key-file <file>', 'master key (default <data dir>/master.key)', process.env.FIRN_MASTER_KEY_FILE || '')
    .option('--metadata-url <url>', 'PostgreSQL metadata (postgres://…; default: SQLite in the data directory)', process.env.FIRN_METADATA_URL || '')
    .option('--blob-url <url>', 'S3 blob store (s3://bucket/prefix, reached with the FIRN_S3_* settings; default: files in the data directory)', process.env.FIRN_BLOB_URL || '')
    .option('--vault <name>', 'only vaults of this name (in every account unless --account-id)')
    .action(async (o: { dataDir: string; masterKeyFile: string; metadataUrl: string; blobUrl: string; accountId?: string; vault?: string }) => {
      let storage;
      try {
        // The S3 endpoint and keys come from the environment, as for `firn serve`.
        const { s3Endpoint, s3Region, s3AccessKeyId, s3SecretAccessKey, s3ForcePathStyle } = loadConfig(process.env);
        storage = await openStorage({ ...o, s3Endpoint, s3Region, s3AccessKeyId, s3SecretAccessKey, s3ForcePathStyle }, { existing: true });
        // A wrong endpoint, bucket or key: one line now rather than an error per archive.
        if (storage.blobs.kind === 's3') await storage.blobs.check();
      } catch (e) {
        if (!(e instanceof DataDirError || e instanceof ConfigError)) throw e;
        process.stderr.write(`firn: ${e.message}\n`);
        process.exit(2);
      }
      const { metadata: store, blobs } = storage;
      const started = performance.now();
      const bar = process.stderr.isTTY ? progressLine(process.stderr, started) : null;
      try {
        const s = await scrub(store, blobs, {
          ...(o.accountId ? { accountId: o.accountId } : {}),
          ...(o.vault ? { vaultName: o.vault } : {}),
          onFinding: (f) => {
            bar?.clear();
            process.stdout.write(describeFinding(f) + '\n');
          },
          ...(bar ? { onProgress: bar.update } : {}),
        });
        bar?.clear();
        const secs = (performance.now() - started) / 1000;
        process.stderr.write(
          `scrub: ${s.archives} archive${s.archives === 1 ? '' : 's'} and ${s.parts} part${s.parts === 1 ? '' : 's'} checked, ` +
            `${(s.bytes / 1024 ** 2).toFixed(1)} MiB in ${secs.toFixed(1)} s (${(s.bytes / 1024 ** 2 / Math.max(secs, 0.001)).toFixed(0)} MiB/s); ` +
            `${s.damaged === 0 ? 'no damage found' : `${s.damaged} damaged`}\n`,
        );
        process.exitCode = s.damaged === 0 ? 0 : 1;
      } finally {
        await store.close();
      }
    });
}
