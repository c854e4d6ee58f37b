/**
 * The server as a process: one owner per data directory, start-up order, shutdown on signals,
 * and admin commands that refuse a directory `firn serve` never created. Every server here is a
 * child process (test/helpers/child-server.ts) so that it can be signalled and killed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChildServer, freePort } from '../helpers/child-server.js';
import { signedRequest, signedUploadHeaders, TEST_ACCOUNT, TEST_KEY, TEST_SECRET } from '../helpers/server.js';
import { treeHash } from '../../src/domain/treehash.js';
import { onPostgres } from '../helpers/metadata.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = fileURLToPath(new URL('../helpers/firn-cli.ts', import.meta.url));
// Resolved here, so that the CLI can run from any working directory.
const TSX = import.meta.resolve('tsx');
const creds = { accessKeyId: TEST_KEY, secretAccessKey: TEST_SECRET };

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `firn <args…>` to completion (tsx + sources, like ChildServer). */
function firn(args: string[], env: Record<string, string | undefined> = {}, cwd = ROOT): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', TSX, CLI, ...args], {
      cwd,
      env: { ...process.env, FIRN_DATA_DIR: undefined, FIRN_ACCOUNT_ID: undefined, FIRN_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d));
    p.stderr.on('data', (d: Buffer) => (stderr += d));
    // Only a guard against hanging the suite: a refused start takes ~1 s of tsx start-up.
    const guard = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.on('error', reject);
    p.on('close', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

function serveEnv(dataDir: string, port: number, extra: Record<string, string> = {}): Record<string, string> {
  return {
    FIRN_HOST: '127.0.0.1',
    FIRN_PORT: String(port),
    FIRN_DATA_DIR: dataDir,
    FIRN_ACCOUNT_ID: '444455556666',
    FIRN_ROOT_ACCESS_KEY_ID: 'AKIASECONDSERVER0001',
    FIRN_ROOT_SECRET_ACCESS_KEY: 'secondServerSecret00000000000000',
    ...extra,
  };
}

/** Runs `f` with a started child server on a fresh data directory; kills it and removes the directory after. */
async function withServer(env: Record<string, string>, f: (server: ChildServer, dataDir: string) => Promise<void>): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'firn-process-'));
  const server = new ChildServer({ dataDir, env });
  try {
    await server.start();
    await f(server, dataDir);
  } catch (e) {
    // What the server said is the first thing to read when one of these fails.
    if (e instanceof Error) e.message += `\n--- server stderr (last 3000 characters) ---\n${server.stderr.slice(-3000)}`;
    throw e;
  } finally {
    await server.kill();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The admin commands' --metadata-url for `server`'s metadata (none: SQLite in the data directory). */
const metaArgs = (server: ChildServer): string[] => (server.metadataUrl ? ['--metadata-url', server.metadataUrl] : []);
const metaEnv = (server: ChildServer): Record<string, string> => (server.metadataUrl ? { FIRN_METADATA_URL: server.metadataUrl } : {});

const dataDirLock = {
  skip: onPostgres() && 'with the metadata in PostgreSQL several servers may share a data directory (blobs), so none locks it (exclusiveStorage)',
};

test('a second `firn serve` on an owned data dir exits non-zero naming the dir and the owner, touching nothing', dataDirLock, async () => {
  await withServer({}, async (owner, dataDir) => {
    // What the owner may be writing right now: a second server's start-up clean-up would delete it.
    const inFlight = join(dataDir, 'blobs', 'tmp', 'in-flight-upload.tmp');
    writeFileSync(inFlight, 'bytes of an upload in progress');

    // Same port (the usual mistake) and a free port (where it used to keep running beside the owner).
    const [samePort, otherPort] = await Promise.all([firn(['serve'], serveEnv(dataDir, owner.port)), firn(['serve'], serveEnv(dataDir, await freePort()))]);
    for (const r of [samePort, otherPort]) {
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`data directory ${realpathSync(dataDir)} is in use by another Firn server \\(pid ${owner.pid}\\)`));
    }
    assert.ok(existsSync(inFlight), "the owner's temp file is untouched");
    // The refused servers wrote nothing: their root credentials were never stored.
    const accounts = await firn(['accounts', 'list', '--data-dir', dataDir]);
    assert.equal(accounts.code, 0, accounts.stderr);
    assert.deepEqual(
      JSON.parse(accounts.stdout).map((a: { AccountId: string }) => a.AccountId),
      [TEST_ACCOUNT],
    );
    const ok = await signedRequest(owner.url, { method: 'GET', path: '/-/vaults', creds });
    assert.equal(ok.status, 200, 'the owner still serves');
  });
});

test('kill -9 of the owner leaves no lock; admin commands work beside a running server', async () => {
  await withServer({}, async (server, dataDir) => {
    await server.kill();
    await server.start(); // would fail with "in use" if the lock outlived the process
    assert.equal((await signedRequest(server.url, { method: 'PUT', path: '/-/vaults/after-kill', creds })).status, 201);

    const user = await firn(['users', 'create', 'alice', '--data-dir', dataDir, '--account-id', TEST_ACCOUNT, ...metaArgs(server)]);
    assert.equal(user.code, 0, user.stderr);
    const key = await firn(['keys', 'create', '--user-name', 'alice', '--json', '--data-dir', dataDir, '--account-id', TEST_ACCOUNT, ...metaArgs(server)]);
    assert.equal(key.code, 0, key.stderr);
    const alice = JSON.parse(key.stdout) as { AccessKeyId: string; SecretAccessKey: string };
    const printed = await firn(['credentials', '--data-dir', dataDir, ...metaArgs(server)]);
    assert.equal(printed.code, 0, printed.stderr);
    assert.match(printed.stdout, new RegExp(`export AWS_ACCESS_KEY_ID=${TEST_KEY}`));
    // The running server sees the new key at once (and the user may do nothing yet).
    const denied = await signedRequest(server.url, { method: 'GET', path: '/-/vaults', creds: { accessKeyId: alice.AccessKeyId, secretAccessKey: alice.SecretAccessKey } });
    assert.equal(denied.status, 403);
    assert.equal(denied.json().code, 'AccessDeniedException');
  });
});

test('a start that cannot listen changes nothing in the data directory', async () => {
  const blocker = createServer();
  await withServer({}, async (server, dataDir) => {
    await server.stop();
    const leftover = join(dataDir, 'blobs', 'tmp', 'left-by-a-crash.tmp');
    writeFileSync(leftover, 'x');
    const port = await new Promise<number>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as { port: number }).port)));
    const r = await firn(['serve'], serveEnv(dataDir, port, metaEnv(server)));
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`cannot listen on 127.0.0.1:${port}: .*EADDRINUSE`));
    assert.ok(existsSync(leftover), 'start-up clean-up did not run');
    const accounts = await firn(['accounts', 'list', '--data-dir', dataDir, ...metaArgs(server)]);
    assert.deepEqual(
      JSON.parse(accounts.stdout).map((a: { AccountId: string }) => a.AccountId),
      [TEST_ACCOUNT],
      'no credentials were written',
    );
    await server.start(); // and the data directory is not left locked
  }).finally(() => blocker.close());
});

test('admin commands refuse a data directory that does not exist, naming it, and create nothing', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'firn-elsewhere-'));
  try {
    for (const args of [['credentials'], ['users', 'list'], ['keys', 'list'], ['accounts', 'list'], ['accounts', 'create']]) {
      const r = await firn(args, {}, cwd);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^firn: no Firn data directory at ${realpathSync(cwd)}/data \\(no meta.db there\\)`), args.join(' '));
      assert.equal(existsSync(join(cwd, 'data')), false, `${args.join(' ')} created ./data`);
    }
    mkdirSync(join(cwd, 'empty'));
    const r = await firn(['credentials', '--data-dir', join(cwd, 'empty')], {}, cwd);
    assert.equal(r.code, 1);
    assert.equal(existsSync(join(cwd, 'empty', 'meta.db')), false);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});

// ---- Shutdown ----

const UPLOAD = Buffer.alloc(2 * 1024 * 1024, 'firn shutdown test ');

/**
 * Starts an UploadArchive and sends its first half. Resolves once the server has read the
 * headers (it answered `100 Continue`), so the request is in flight, not waiting in a backlog.
 */
async function startUpload(url: string, vault: string): Promise<{ req: ClientRequest; response: Promise<IncomingMessage> }> {
  const path = `/-/vaults/${vault}/archives`;
  const headers = await signedUploadHeaders(url, creds, path, UPLOAD, treeHash(UPLOAD));
  const u = new URL(url);
  const req = httpRequest({ host: u.hostname, port: u.port, method: 'POST', path, headers: { ...headers, expect: '100-continue' } });
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    req.on('response', resolve);
    req.on('error', reject);
  });
  response.catch(() => {});
  await new Promise<void>((resolve, reject) => {
    req.once('continue', resolve);
    req.once('error', reject);
    req.flushHeaders();
  });
  await new Promise<void>((resolve) => req.write(UPLOAD.subarray(0, UPLOAD.length / 2), () => resolve()));
  return { req, response };
}

function exited(proc: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
}

/** Resolves once a TCP connect to the port is refused (the server stopped accepting). */
async function refusesConnections(port: number): Promise<void> {
  for (;;) {
    const refused = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(false);
      });
      s.once('error', () => resolve(true));
    });
    if (refused) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Creates vault `v` and starts an upload into it; `exit` resolves when the server process ends. */
async function uploadInFlight(server: ChildServer) {
  assert.equal((await signedRequest(server.url, { method: 'PUT', path: '/-/vaults/v', creds })).status, 201);
  const proc = server.proc!;
  const exit = exited(proc);
  const upload = await startUpload(server.url, 'v');
  return { proc, exit, upload };
}

/** Starts the (exited) server again on its data directory: how many archives does vault `v` hold? */
async function restartAndCount(server: ChildServer): Promise<number> {
  server.proc = null;
  await server.start();
  const r = await signedRequest(server.url, { method: 'GET', path: '/-/vaults/v', creds });
  assert.equal(r.status, 200, r.body.toString());
  return r.json().NumberOfArchives;
}

test('SIGTERM: no new connections, an upload in flight finishes (past the old 2 s cut-off), exit 0', async () => {
  await withServer({}, async (server) => {
    const { proc, exit, upload } = await uploadInFlight(server);
    proc.kill('SIGTERM');
    await refusesConnections(server.port);
    // Held open longer than the fixed 2 s after which the server used to cut every connection.
    await new Promise((r) => setTimeout(r, 2500));
    upload.req.end(UPLOAD.subarray(UPLOAD.length / 2));
    const res = await upload.response;
    res.resume();
    assert.equal(res.statusCode, 201);
    assert.deepEqual(await exit, { code: 0, signal: null });

    assert.equal(await restartAndCount(server), 1, 'the acknowledged upload is stored');
  });
});

test('SIGTERM then a second signal exits at once; the cut upload stores nothing', async () => {
  await withServer({}, async (server) => {
    const { proc, exit, upload } = await uploadInFlight(server);
    proc.kill('SIGTERM');
    await refusesConnections(server.port);
    proc.kill('SIGINT');
    assert.deepEqual(await exit, { code: 1, signal: null });
    await assert.rejects(upload.response, /socket hang up|ECONNRESET/);

    assert.equal(await restartAndCount(server), 0);
  });
});

test('SIGTERM: an upload still running when FIRN_SHUTDOWN_GRACE ends is cut, and the server exits 0', async () => {
  await withServer({ FIRN_SHUTDOWN_GRACE: '500ms' }, async (server) => {
    const { proc, exit, upload } = await uploadInFlight(server);
    proc.kill('SIGTERM');
    assert.deepEqual(await exit, { code: 0, signal: null });
    await assert.rejects(upload.response, /socket hang up|ECONNRESET/);

    assert.equal(await restartAndCount(server), 0);
  });
});
