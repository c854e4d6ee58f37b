import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { openStorage } from '../storage/index.js';
import type { MetadataStore } from '../storage/metadata/types.js';
import { exportLines } from '../auth/bootstrap.js';
import * as admin from '../auth/admin.js';
import { registerScrubCommand } from './scrub.js';
import { DataDirError } from '../storage/data-dir.js';

/**
 * `firn accounts|users|keys …`: administration against the data directory (the SQLite database
 * and the master key), safe while the server runs (SQLite WAL; the server reads keys and
 * policies per request, so changes apply to the next request). Secrets are printed only when a
 * key is created, never listed.
 */
interface Common {
  dataDir: string;
  masterKeyFile: string;
  accountId?: string;
  json?: boolean;
}

/** Opens the data directory's storage (or the PostgreSQL schema of --metadata-url); refuses one `firn serve` never created. */
export async function withStore<T>(opts: { dataDir: string; masterKeyFile?: string; metadataUrl?: string }, f: (store: MetadataStore) => Promise<T>): Promise<T> {
  const { metadata: store } = await openStorage({ dataDir: opts.dataDir, masterKeyFile: opts.masterKeyFile ?? '', metadataUrl: opts.metadataUrl ?? '' }, { existing: true });
  try {
    return await f(store);
  } finally {
    await store.close();
  }
}

/** `--account-id`, else FIRN_ACCOUNT_ID, else the first account created (the one `firn serve` made). */
async function accountOf(store: MetadataStore, opts: Common): Promise<string> {
  const id = opts.accountId || process.env.FIRN_ACCOUNT_ID;
  if (id) return id;
  const first = (await store.accounts.listAccounts())[0];
  if (!first) throw new admin.AdminError(`no account in ${opts.dataDir}; start the server once, or run \`firn accounts create\``);
  return first.accountId;
}

function out(v: unknown): void {
  process.stdout.write(JSON.stringify(v, null, 2) + '\n');
}

function printCredentials(c: admin.NewCredentials, json: boolean | undefined): void {
  if (json) {
    out({ AccountId: c.accountId, UserName: c.userName, AccessKeyId: c.accessKeyId, SecretAccessKey: c.secretAccessKey });
    return;
  }
  process.stdout.write(
    `# account ${c.accountId}, ${c.userName === null ? 'root' : `user ${c.userName}`}; the secret is shown only now\n` + exportLines(c) + '\n',
  );
}

function readDocument(arg: string): string {
  if (arg === '-') return readFileSync(0, 'utf8');
  if (arg.startsWith('file://')) return readFileSync(arg.slice('file://'.length), 'utf8');
  return arg;
}

function keyJson(k: { accessKeyId: string; accountId: string; userName: string | null; status: string; createdAt: number }) {
  return { AccessKeyId: k.accessKeyId, AccountId: k.accountId, UserName: k.userName, Status: k.status, CreateDate: new Date(k.createdAt).toISOString() };
}

function common(cmd: Command, withAccount = true): Command {
  cmd.option('--data-dir <dir>', 'data directory', process.env.FIRN_DATA_DIR || './data');
  cmd.option('--master-key-file <file>', 'master key (default <data dir>/master.key)', process.env.FIRN_MASTER_KEY_FILE || '');
  cmd.option('--metadata-url <url>', 'PostgreSQL metadata (postgres://…; default: SQLite in the data directory)', process.env.FIRN_METADATA_URL || '');
  if (withAccount) cmd.option('--account-id <id>', 'account (default: FIRN_ACCOUNT_ID, else the first account)');
  return cmd;
}

/** Runs an admin action; a refusal (AdminError, DataDirError) is one line on stderr and exit 1. */
export function run<A extends unknown[]>(f: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await f(...args);
    } catch (e) {
      if (e instanceof admin.AdminError || e instanceof DataDirError) {
        process.stderr.write(`firn: ${e.message}\n`);
        process.exit(1);
      }
      throw e;
    }
  };
}

export function registerAdminCommands(program: Command): void {
  const accounts = program.command('accounts').description('manage accounts (each has root keys that may do everything in it)');
  common(accounts.command('create').description('create an account and its first root key (prints the key)'), false)
    .option('--account-id <id>', '12-digit account id (random when omitted)')
    .option('--json', 'print the key as JSON')
    .action(run(async (o: Common) => withStore(o, async (s) => printCredentials(await admin.createAccount(s, o.accountId, Date.now()), o.json))));
  common(accounts.command('list').description('list accounts'), false).action(
    run(async (o: Common) => withStore(o, async (s) => out((await s.accounts.listAccounts()).map((a) => ({ AccountId: a.accountId, CreateDate: new Date(a.createdAt).toISOString() }))))),
  );

  const users = program.command('users').description('manage IAM users (a user may do nothing until a policy allows it)');
  common(users.command('create <userName>').description('create a user')).action(
    run(async (name: string, o: Common) =>
      withStore(o, async (s) => {
        const acct = await accountOf(s, o);
        await admin.createUser(s, acct, name, Date.now());
        out({ AccountId: acct, UserName: name, Arn: `arn:aws:iam::${acct}:user/${name}` });
      }),
    ),
  );
  common(users.command('list').description('list users')).action(
    run(async (o: Common) =>
      withStore(o, async (s) => {
        const acct = await accountOf(s, o);
        out((await s.accounts.listUsers(acct)).map((u) => ({ UserName: u.userName, Arn: `arn:aws:iam::${acct}:user/${u.userName}`, CreateDate: new Date(u.createdAt).toISOString() })));
      }),
    ),
  );
  common(users.command('delete <userName>').description('delete a user with its keys and policies')).action(
    run(async (name: string, o: Common) => withStore(o, async (s) => admin.deleteUser(s, await accountOf(s, o), name))),
  );
  common(users.command('put-policy <userName> <policyName>').description('attach (or replace) an inline identity policy'))
    .requiredOption('--policy-document <doc>', 'the policy JSON, file://<path>, or - for stdin')
    .action(
      run(async (name: string, policyName: string, o: Common & { policyDocument: string }) =>
        withStore(o, async (s) => admin.putUserPolicy(s, await accountOf(s, o), name, policyName, readDocument(o.policyDocument), Date.now())),
      ),
    );
  common(users.command('get-policy <userName> <policyName>').description('print an inline policy')).action(
    run(async (name: string, policyName: string, o: Common) =>
      withStore(o, async (s) => {
        const p = await s.accounts.getUserPolicy(await accountOf(s, o), name, policyName);
        if (!p) throw new admin.AdminError(`user ${name} has no policy named ${policyName}`);
        process.stdout.write(p.document + '\n');
      }),
    ),
  );
  common(users.command('list-policies <userName>').description('list the inline policies of a user')).action(
    run(async (name: string, o: Common) =>
      withStore(o, async (s) => out((await s.accounts.listUserPolicies(await accountOf(s, o), name)).map((p) => p.policyName))),
    ),
  );
  common(users.command('delete-policy <userName> <policyName>').description('remove an inline policy')).action(
    run(async (name: string, policyName: string, o: Common) => withStore(o, async (s) => admin.deleteUserPolicy(s, await accountOf(s, o), name, policyName))),
  );

  const keys = program.command('keys').description('manage access keys');
  common(keys.command('create').description("create an access key for a user (--user-name) or the account's root (prints the secret once)"))
    .option('--user-name <name>', 'the user (omit for a root key)')
    .option('--json', 'print the key as JSON')
    .action(
      run(async (o: Common & { userName?: string }) =>
        withStore(o, async (s) => printCredentials(await admin.createAccessKey(s, await accountOf(s, o), o.userName ?? null, Date.now()), o.json)),
      ),
    );
  common(keys.command('list').description('list access keys (never their secrets)'))
    .option('--user-name <name>', "only this user's keys")
    .option('--root', "only the root's keys")
    .action(
      run(async (o: Common & { userName?: string; root?: boolean }) =>
        withStore(o, async (s) => out((await s.accounts.listAccessKeys(await accountOf(s, o), o.root ? null : o.userName)).map(keyJson))),
      ),
    );
  for (const [name, status] of [
    ['disable', 'Inactive'],
    ['enable', 'Active'],
  ] as const) {
    common(keys.command(`${name} <accessKeyId>`).description(`${name} an access key`), false).action(
      run(async (id: string, o: Common) => withStore(o, async (s) => admin.setAccessKeyStatus(s, id, status))),
    );
  }
  common(keys.command('delete <accessKeyId>').description('delete an access key'), false).action(
    run(async (id: string, o: Common) => withStore(o, async (s) => admin.deleteAccessKey(s, id))),
  );

  registerScrubCommand(program);
}
