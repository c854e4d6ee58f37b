import { Command, Option } from 'commander';
import { resolve } from 'node:path';
import { schema, showDefault, type ConfigKey } from '../config/schema.js';
import { ConfigError, loadConfig } from '../config/load.js';
import { startServer, type RunningServer } from '../main.js';
import { DataDirError } from '../storage/data-dir.js';
import { exportLines } from '../auth/bootstrap.js';
import { AdminError } from '../auth/admin.js';
import { registerAdminCommands, run, withStore } from './admin.js';
import { registerBackupCommands } from './backup.js';
import { VERSION } from '../lib/version.js';
import { installProcessGuards } from '../lib/process-guards.js';
import { registerTransferCommands } from '../client/index.js';

/** Adds one `--flag <value>` per config key, and returns flag values keyed by config name. */
function addConfigOptions(cmd: Command): (opts: Record<string, unknown>) => Record<string, string | undefined> {
  const byAttr = new Map<string, string>();
  for (const [name, key] of Object.entries(schema) as [string, ConfigKey<unknown>][]) {
    const opt = new Option(`${key.flag} <value>`, `${key.description} [env ${key.env}, default ${showDefault(key)}]`);
    cmd.addOption(opt);
    byAttr.set(opt.attributeName(), name);
  }
  return (opts) => {
    const out: Record<string, string | undefined> = {};
    for (const [attr, name] of byAttr) if (opts[attr] !== undefined) out[name] = String(opts[attr]);
    return out;
  };
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command('firn')
    .description('Firn: a self-hosted archive server that speaks the Amazon Glacier vault API')
    .version(VERSION, '-V, --version');

  const serve = program.command('serve').description('run the server (embedded SQLite + files in the data directory by default)');
  const serveFlags = addConfigOptions(serve);
  serve.action(async (opts: Record<string, unknown>) => {
    const config = loadOrExit(serveFlags(opts));
    let running: RunningServer;
    try {
      running = await startServer(config);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (!(e instanceof DataDirError) && code !== 'EADDRINUSE' && code !== 'EACCES') throw e;
      process.stderr.write(`firn: ${e instanceof DataDirError ? e.message : `cannot listen on ${config.host}:${config.port}: ${(e as Error).message}`}\n`);
      process.exit(1);
    }
    installProcessGuards(running.app.log);
    const { root } = running;
    if (root.generated) {
      process.stderr.write(
        `\nFirn generated root credentials for account ${root.accountId}.\n` +
          `They are stored in ${config.dataDir} and shown only this once (\`npx firn credentials\` prints them again):\n\n` +
          exportLines(root) +
          `\n\n`,
      );
    }
    process.stderr.write(
      `Firn is listening on ${running.url} (account ${root.accountId}, access key ${root.accessKeyId}, data in ${config.dataDir})\n` +
        `Try: aws --endpoint-url ${running.url} glacier list-vaults --account-id -\n`,
    );
    // First signal: stop accepting, let requests in flight finish (FIRN_SHUTDOWN_GRACE), exit 0.
    // Second signal: exit at once.
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      const log = running.app.log;
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting without waiting for requests in flight');
        process.exit(1);
      }
      stopping = true;
      log.info({ signal, graceMs: config.shutdownGrace }, 'shutting down: no new connections, waiting for requests in flight');
      running.close().then(
        () => process.exit(0),
        (err: unknown) => {
          log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });

  program
    .command('credentials')
    .description('print `export AWS_…` lines for the root credentials stored in the data directory')
    .option('--data-dir <dir>', 'data directory', process.env.FIRN_DATA_DIR || './data')
    .option('--master-key-file <file>', 'master key (default <data dir>/master.key)', process.env.FIRN_MASTER_KEY_FILE || '')
    .option('--metadata-url <url>', 'PostgreSQL metadata (postgres://…; default: SQLite in the data directory)', process.env.FIRN_METADATA_URL || '')
    .option('--region <region>', 'region for AWS_DEFAULT_REGION', 'us-east-1')
    .action(
      run(async (opts: { dataDir: string; masterKeyFile: string; metadataUrl: string; region: string }) =>
        withStore(opts, async (store) => {
          const root = (await store.accounts.findRootKeys()).find((k) => k.status === 'Active');
          if (!root) throw new AdminError(`no active root credentials in ${resolve(opts.dataDir)}`);
          process.stdout.write(exportLines({ accessKeyId: root.accessKeyId, secretAccessKey: root.secret }, opts.region) + '\n');
        }),
      ),
    );

  registerAdminCommands(program);
  registerBackupCommands(program);
  registerTransferCommands(program);

  await program.parseAsync(argv);
}

function loadOrExit(flags: Record<string, string | undefined>) {
  try {
    return loadConfig(process.env, flags);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`firn: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
}
