/**
 * Shared servers for `npm run e2e:twice` (scripts/e2e-twice.mjs): with FIRN_E2E_SHARED=<state
 * dir>, startTestServer hands end-to-end tests a long-lived `firn serve` process instead of a
 * fresh in-process server. There is one such process per distinct test configuration; it is
 * started by the first test file that needs it, outlives that file, and serves every later file
 * and the whole second run of the suite without a restart (the runner checks the pids).
 *
 * Each startTestServer call gets a new account on the shared server (created beside the running
 * server, as `firn accounts create` does), so test files stay as isolated from each other as
 * with servers of their own, while everything the earlier files and the earlier run left behind
 * (other accounts, deleted vaults, finished jobs, a moved test clock) is still there.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, renameSync, writeFileSync, existsSync, closeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { schema, showDefault, type ConfigKey } from '../../src/config/schema.js';
import type { Config } from '../../src/config/schema.js';
import { createAccount } from '../../src/auth/admin.js';
import { existingMetaDb } from '../../src/storage/data-dir.js';
import { SqliteMetadataStore } from '../../src/storage/metadata/sqlite/index.js';
import { freePort } from './child-server.js';
import { httpAnswers } from './http-probe.js';
import { TEST_ACCOUNT, TEST_KEY, TEST_SECRET, type Creds } from './server.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ENTRY = fileURLToPath(new URL('./firn-cli.ts', import.meta.url));

export interface SharedServerInfo {
  url: string;
  port: number;
  pid: number;
  dataDir: string;
  env: Record<string, string>;
}

export function sharedStateDir(): string | undefined {
  return process.env.FIRN_E2E_SHARED || undefined;
}

/** The FIRN_* variables that configure a server like `overrides` configures an in-process one. */
function envFor(overrides: Partial<Config>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(overrides).sort(([a], [b]) => a.localeCompare(b))) {
    const key = (schema as Record<string, ConfigKey<unknown>>)[name];
    if (!key) throw new Error(`unknown config key ${name}`);
    env[key.env] = showDefault({ ...key, default: value });
  }
  return env;
}

/**
 * The shared server for this configuration: started (detached, so that it outlives this test
 * file) by whichever test process asks first; the others wait for its `server.json`.
 */
export async function sharedServer(stateDir: string, overrides: Partial<Config>): Promise<SharedServerInfo> {
  const env = envFor(overrides);
  const id = createHash('sha256').update(JSON.stringify(env)).digest('hex').slice(0, 12);
  const dir = join(stateDir, id);
  const infoFile = join(dir, 'server.json');
  let mine = false;
  try {
    mkdirSync(dir); // atomic: exactly one process wins the right to start this server
    mine = true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  if (mine) {
    const port = await freePort();
    const dataDir = join(dir, 'data');
    const log = openSync(join(dir, 'server.log'), 'a');
    const proc = spawn(process.execPath, ['--import', 'tsx', ENTRY, 'serve'], {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', log, log],
      env: {
        ...process.env,
        FIRN_HOST: '127.0.0.1',
        FIRN_PORT: String(port),
        FIRN_DATA_DIR: dataDir,
        FIRN_ACCOUNT_ID: TEST_ACCOUNT,
        FIRN_ROOT_ACCESS_KEY_ID: TEST_KEY,
        FIRN_ROOT_SECRET_ACCESS_KEY: TEST_SECRET,
        FIRN_LOG_LEVEL: 'warn',
        FIRN_TEST_CONTROL: 'true',
        ...env,
      },
    });
    closeSync(log);
    proc.unref();
    const url = `http://127.0.0.1:${port}`;
    await waitFor(() => httpAnswers(`${url}/_firn/health`), `shared server ${id} to answer (see ${join(dir, 'server.log')})`);
    const info: SharedServerInfo = { url, port, pid: proc.pid!, dataDir, env };
    writeFileSync(infoFile + '.tmp', JSON.stringify(info, null, 2));
    renameSync(infoFile + '.tmp', infoFile);
    return info;
  }
  await waitFor(async () => existsSync(infoFile), `shared server ${id} to be started by another test file`);
  return JSON.parse(readFileSync(infoFile, 'utf8')) as SharedServerInfo;
}

async function waitFor(ready: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let calls = 0;

/**
 * A new account with a root key on the shared server, made directly in its data directory. With
 * FIRN_E2E_SAME_ACCOUNTS (`npm run e2e:twice -- --same-accounts`), the second run gets the account
 * the same test file's same call got in the first run, instead of a new one.
 */
export async function newAccount(info: SharedServerInfo): Promise<{ accountId: string; creds: Creds }> {
  const saved = process.env.FIRN_E2E_SAME_ACCOUNTS ? join(dirname(info.dataDir), `account-${basename(process.argv[1] ?? 'repl')}-${calls++}.json`) : null;
  if (saved && existsSync(saved)) return JSON.parse(readFileSync(saved, 'utf8'));
  const store = new SqliteMetadataStore(existingMetaDb(info.dataDir));
  try {
    const c = await createAccount(store, undefined, Date.now());
    const account = { accountId: c.accountId, creds: { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey } };
    if (saved) writeFileSync(saved, JSON.stringify(account));
    return account;
  } finally {
    await store.close();
  }
}
