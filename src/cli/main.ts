import { Command, Option } from 'commander';
import { join } from 'node:path';
import { schema, type ConfigKey } from '../config/schema.js';
import { ConfigError, loadConfig } from '../config/load.js';
import { startServer } from '../main.js';
import { exportLines } from '../auth/bootstrap.js';
import { SqliteMetadataStore } from '../storage/metadata/sqlite/index.js';
import { registerAdminCommands } from './admin.js';
import { registerBackupCommands } from './backup.js';
import { VERSION } from '../lib/version.js';

/** Adds one `--flag <value>` per config key, and returns flag values keyed by config name. */
function addConfigOptions(cmd: Command): (opts: Record<string, unknown>) => Record<string, string | undefined> {
  const byAttr = new Map<string, string>();
  for (const [name, key] of Object.entries(schema) as [string, ConfigKey<unknown>][]) {
    const opt = new Option(`${key.flag} <value>`, `${key.description} [env ${key.env}, default ${JSON.stringify(key.default)}]`);
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
    const running = await startServer(config);
    const { root } = running;
    if (root.generated) {
      process.stderr.write(
        `\nFirn generated root credentials for account ${root.accountId}.\n` +
          `They are stored in ${config.dataDir} and shown only this once (\`firn credentials\` prints them again):\n\n` +
          exportLines(root) +
          `\n\n`,
      );
    }
    process.stderr.write(
      `Firn is listening on ${running.url} (account ${root.accountId}, access key ${root.accessKeyId}, data in ${config.dataDir})\n` +
        `Try: aws --endpoint-url ${running.url} glacier list-vaults --account-id -\n`,
    );
    const stop = async (signal: string) => {
      running.app.log.info({ signal }, 'shutting down');
      await running.close();
      process.exit(0);
    };
    process.once('SIGINT', () => void stop('SIGINT'));
    process.once('SIGTERM', () => void stop('SIGTERM'));
  });

  program
    .command('credentials')
    .description('print `export AWS_…` lines for the root credentials stored in the data directory')
    .option('--data-dir <dir>', 'data directory', process.env.FIRN_DATA_DIR || './data')
    .option('--region <region>', 'region for AWS_DEFAULT_REGION', 'us-east-1')
    .action(async (opts: { dataDir: string; region: string }) => {
      const store = new SqliteMetadataStore(join(opts.dataDir, 'meta.db'));
      try {
        const root = (await store.accounts.findRootKeys()).find((k) => k.status === 'Active');
        if (!root) throw new Error(`no root credentials in ${opts.dataDir}; start the server once with \`npm start\``);
        process.stdout.write(exportLines({ accessKeyId: root.accessKeyId, secretAccessKey: root.secret }, opts.region) + '\n');
      } finally {
        await store.close();
      }
    });

  registerAdminCommands(program);
  registerBackupCommands(program);

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
