/**
 * `firn upload`, `firn download`, `firn inventory` as separate processes against a listening
 * server: a 256 MiB upload killed with SIGKILL and resumed, a download with one chunk corrupted
 * in transit (a proxy flips a byte) that fails, then resumes byte-exact; inventory across Marker
 * pages with credentials from a profile; the progress bar in a real pseudo-terminal.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn } from 'node:child_process';
import {
  CreateVaultCommand,
  InitiateMultipartUploadCommand,
  ListJobsCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  UploadArchiveCommand,
  UploadMultipartPartCommand,
  type GlacierClient,
} from '@aws-sdk/client-glacier';
import { startTestServer, REGION, type TestServer } from '../helpers/server.js';
import { seededBytes } from '../helpers/glacier-raw.js';
import { FIRN_ARGV, fileSha256, firn, firnEnv, spawnFirn, writeSeededFile } from '../helpers/firn-client.js';
import { MiB, TreeHasher } from '../../src/domain/treehash.js';
import { createReadStream } from 'node:fs';

let s: TestServer;
let g: GlacierClient;
let dir: string;
let env: NodeJS.ProcessEnv;
const V = 'transfer';
// Not a multiple of the part or chunk size, so the last part and chunk are short.
const BIG = 256 * MiB + 12_345;
let bigPath: string;
let bigTreeHash: string;

before(async () => {
  s = await startTestServer();
  g = s.glacier();
  env = firnEnv(s.creds);
  await g.send(new CreateVaultCommand({ accountId: '-', vaultName: V }));
  dir = mkdtempSync(join(tmpdir(), 'firn-transfer-'));
  bigPath = join(dir, 'big.bin');
  writeSeededFile(bigPath, 'transfer-big', BIG);
  const h = new TreeHasher();
  for await (const c of createReadStream(bigPath, { highWaterMark: 4 * MiB })) h.update(c as Buffer);
  bigTreeHash = h.digest().treeHash;
});
after(async () => {
  await s.close();
  rmSync(dir, { recursive: true, force: true });
});

const common = () => ['--endpoint-url', s.url, '--vault', V];

/**
 * A proxy in front of the server that flips one byte in every GetJobOutput response for the
 * byte range `corruptRange`; everything else passes through untouched (the Host header too, so
 * signatures stay valid).
 */
async function corruptingProxy(target: string, corruptRange: string): Promise<{ url: string; corrupted: () => number; close: () => Promise<void> }> {
  const t = new URL(target);
  let corrupted = 0;
  const server: Server = createServer((req, res) => {
    const up = httpRequest({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (ur) => {
      const corrupt = req.method === 'GET' && /\/jobs\/[^/]+\/output$/.test(req.url ?? '') && req.headers.range === corruptRange;
      if (!corrupt) {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        ur.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      ur.on('data', (c: Buffer) => chunks.push(c));
      ur.on('end', () => {
        const body = Buffer.concat(chunks);
        body[1000] = body[1000]! ^ 0xff;
        corrupted++;
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        res.end(body);
      });
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${addr.port}`,
    corrupted: () => corrupted,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

test('a 256 MiB upload in 1 MiB parts killed with SIGKILL resumes; the download survives a corrupted chunk and resumes byte-exact', async () => {
  const uploadArgs = ['upload', ...common(), bigPath, '--part-size', '1', '--concurrency', '4', '--quiet'];
  const first = spawnFirn(uploadArgs, env);
  let uploadId: string | undefined;
  // Wait until a good number of parts are on the server, then cut the client off.
  for (;;) {
    if (first.exitCode !== null) break;
    const ups = await g.send(new ListMultipartUploadsCommand({ accountId: '-', vaultName: V }));
    uploadId = ups.UploadsList?.[0]?.MultipartUploadId;
    if (uploadId) {
      const parts = await g.send(new ListPartsCommand({ accountId: '-', vaultName: V, uploadId }));
      if ((parts.Parts?.length ?? 0) >= 32) break;
    }
    await sleep(20);
  }
  first.kill('SIGKILL');
  const killed = await first.result;
  assert.equal(killed.signal, 'SIGKILL', `the first upload finished before it could be killed: ${killed.stderr}`);

  const resumed = await firn(uploadArgs, env);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.ok(resumed.json.resumedParts >= 32, `resumedParts ${resumed.json.resumedParts}`);
  assert.ok(resumed.json.resumedParts < 257);
  assert.equal(resumed.json.size, BIG);
  assert.equal(resumed.json.checksum, bigTreeHash);
  assert.match(resumed.json.location, new RegExp(`/vaults/${V}/archives/${resumed.json.archiveId}$`));
  // The interrupted upload was the one completed: none is left behind.
  const left = await g.send(new ListMultipartUploadsCommand({ accountId: '-', vaultName: V }));
  assert.deepEqual(left.UploadsList ?? [], []);
  const archiveId: string = resumed.json.archiveId;

  // Download through a proxy that corrupts chunk 5 (8 MiB chunks) every time: detected, retried,
  // then a clear failure with exit code 6 and nothing renamed into place.
  const out = join(dir, 'big.out');
  const corruptRange = `bytes=${5 * 8 * MiB}-${6 * 8 * MiB - 1}`;
  const proxy = await corruptingProxy(s.url, corruptRange);
  const dlArgs = ['download', '--vault', V, '--archive-id', archiveId, '--output', out, '--chunk-size', '8', '--concurrency', '4', '--quiet'];
  let bad;
  try {
    bad = await firn([...dlArgs, '--endpoint-url', proxy.url], env);
  } finally {
    await proxy.close();
  }
  assert.equal(bad.code, 6, bad.stderr);
  assert.match(bad.stderr, new RegExp(`chunk ${5 * 8 * MiB}-${6 * 8 * MiB - 1} is corrupt: received bytes have tree hash [0-9a-f]{64}, the server's x-amz-sha256-tree-hash is [0-9a-f]{64}`));
  assert.ok(proxy.corrupted() >= 2, 'the corrupt chunk was retried');
  assert.equal(existsSync(out), false, 'nothing renamed into place');
  assert.equal(existsSync(`${out}.firn-part`), true);

  // The same command without the proxy resumes: only what is missing is fetched, every chunk
  // verified, the whole file's tree hash checked, then renamed into place.
  const good = await firn([...dlArgs, '--endpoint-url', s.url], env);
  assert.equal(good.code, 0, good.stderr);
  assert.equal(good.json.chunks, 33);
  assert.equal(good.json.verifiedChunks, 33);
  assert.ok(good.json.resumedChunks >= 1 && good.json.resumedChunks < 33, `resumedChunks ${good.json.resumedChunks}`);
  assert.equal(good.json.checksum, bigTreeHash);
  assert.equal(good.json.size, BIG);
  assert.equal(await fileSha256(out), await fileSha256(bigPath));
  assert.equal(existsSync(`${out}.firn-part`), false);
  assert.equal(existsSync(`${out}.firn-download.json`), false);
  // One retrieval job served both runs.
  const jobs = await g.send(new ListJobsCommand({ accountId: '-', vaultName: V }));
  assert.deepEqual(
    (jobs.JobList ?? []).filter((j) => j.ArchiveId === archiveId).map((j) => j.JobId),
    [good.json.jobId],
  );
});

test('an upload whose file changed since it was interrupted is refused with exit code 5', async () => {
  const path = join(dir, 'changed.bin');
  writeFileSync(path, seededBytes('changed-now', 3 * MiB + 1));
  const init = await g.send(new InitiateMultipartUploadCommand({ accountId: '-', vaultName: V, archiveDescription: 'changed.bin', partSize: String(MiB) }));
  await g.send(
    new UploadMultipartPartCommand({ accountId: '-', vaultName: V, uploadId: init.uploadId, range: `bytes 0-${MiB - 1}/*`, body: seededBytes('changed-before', MiB) }),
  );
  const r = await firn(['upload', ...common(), path, '--part-size', '1', '--quiet'], env);
  assert.equal(r.code, 5, r.stderr);
  assert.match(r.stderr, new RegExp(`changed since its upload was interrupted: upload ${init.uploadId} .*part 0-1048575 has a different tree hash`));
  const fresh = await firn(['upload', ...common(), path, '--part-size', '1', '--quiet', '--no-resume'], env);
  assert.equal(fresh.code, 0, fresh.stderr);
  assert.equal(fresh.json.resumedParts, 0);
});

test('inventory follows Marker across pages into one CSV and one JSON file, with credentials from a named profile', async () => {
  const vault = 'inventory';
  await g.send(new CreateVaultCommand({ accountId: '-', vaultName: vault }));
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await g.send(new UploadArchiveCommand({ accountId: '-', vaultName: vault, archiveDescription: `report, "v${i}"`, body: seededBytes(`inv${i}`, 1000 + i) }));
    ids.push(r.archiveId!);
  }
  // Credentials and region only in the shared files, under a profile (as the aws CLI reads them).
  const creds = join(dir, 'credentials');
  const config = join(dir, 'config');
  writeFileSync(creds, `[archive]\naws_access_key_id = ${s.creds.accessKeyId}\naws_secret_access_key = ${s.creds.secretAccessKey}\n`);
  writeFileSync(config, `[profile archive]\nregion = ${REGION}\n`);
  const profileEnv = { PATH: process.env.PATH, HOME: dir, AWS_SHARED_CREDENTIALS_FILE: creds, AWS_CONFIG_FILE: config };

  const csvPath = join(dir, 'inv.csv');
  const csv = await firn(['inventory', '--endpoint-url', s.url, '--profile', 'archive', '--vault', vault, '--format', 'csv', '--limit', '2', '--output', csvPath, '--quiet'], profileEnv);
  assert.equal(csv.code, 0, csv.stderr);
  assert.deepEqual(csv.json, { vault, format: 'csv', output: csvPath, archives: 5, pages: 3 });
  const lines = readFileSync(csvPath, 'utf8').trimEnd().split('\n');
  assert.equal(lines[0], 'ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash');
  assert.deepEqual(lines.slice(1).map((l) => l.split(',')[0]).sort(), [...ids].sort());

  const jsonPath = join(dir, 'inv.json');
  const json = await firn(['inventory', '--endpoint-url', s.url, '--profile', 'archive', '--vault', vault, '--limit', '2', '--output', jsonPath, '--quiet'], profileEnv);
  assert.equal(json.code, 0, json.stderr);
  assert.equal(json.json.pages, 3);
  const doc = JSON.parse(readFileSync(jsonPath, 'utf8'));
  assert.match(doc.VaultARN, new RegExp(`:vaults/${vault}$`));
  assert.deepEqual(doc.ArchiveList.map((a: any) => a.ArchiveId).sort(), [...ids].sort());
  assert.deepEqual(doc.ArchiveList.map((a: any) => a.ArchiveDescription).sort(), [0, 1, 2, 3, 4].map((i) => `report, "v${i}"`));

  // A profile that does not exist, and a vault that does not exist: clear errors, distinct codes.
  const noProfile = await firn(['inventory', '--endpoint-url', s.url, '--profile', 'nope', '--region', REGION, '--vault', vault, '--output', jsonPath], profileEnv);
  assert.equal(noProfile.code, 4, noProfile.stderr);
  assert.match(noProfile.stderr, /no AWS credentials found: profile "nope" has none in /);
  const noVault = await firn(['inventory', '--endpoint-url', s.url, '--vault', 'missing', '--output', jsonPath], env);
  assert.equal(noVault.code, 3, noVault.stderr);
  assert.match(noVault.stderr, /vault "missing" does not exist/);
});

test('download --no-wait exits 75 with the job id while the job runs; the next run reuses that job', async () => {
  const slow = await startTestServer({ config: { retrievalTiming: 'aws' } });
  try {
    const sg = slow.glacier();
    await sg.send(new CreateVaultCommand({ accountId: '-', vaultName: V }));
    const data = seededBytes('no-wait', 3 * MiB + 7);
    const up = await sg.send(new UploadArchiveCommand({ accountId: '-', vaultName: V, body: data }));
    const out = join(dir, 'nowait.out');
    const args = ['download', '--endpoint-url', slow.url, '--vault', V, '--archive-id', up.archiveId!, '--output', out, '--chunk-size', '1', '--quiet'];
    const pending = await firn([...args, '--no-wait', '--tier', 'Expedited'], firnEnv(slow.creds));
    assert.equal(pending.code, 75, pending.stderr);
    assert.equal(pending.json.status, 'InProgress');
    assert.equal(existsSync(out), false);
    slow.clock.advance(5 * 60_000);
    await slow.running.app.jobs.runDue();
    const done = await firn(args, firnEnv(slow.creds));
    assert.equal(done.code, 0, done.stderr);
    assert.equal(done.json.jobId, pending.json.jobId);
    assert.equal(done.json.verifiedChunks, 4);
    assert.ok(readFileSync(out).equals(data));
  } finally {
    await slow.close();
  }
});

/** Runs argv in a pseudo-terminal (python3's pty module) and returns everything it wrote. */
function inPty(argv: string[], childEnv: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn('python3', ['-c', 'import pty, sys, os; st = pty.spawn(sys.argv[1:]); sys.exit(os.waitstatus_to_exitcode(st))', ...argv], {
      env: { ...childEnv, TERM: 'xterm', COLUMNS: '120' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    p.stdout.on('data', (d: Buffer) => (output += d.toString()));
    p.stderr.on('data', (d: Buffer) => (output += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, output }));
  });
}

test('progress: a bar with bytes, percentage, speed and time left on a terminal; plain lines otherwise', async () => {
  const path = join(dir, 'progress.bin');
  writeSeededFile(path, 'progress', 12 * MiB);
  const tty = await inPty([...FIRN_ARGV, 'upload', ...common(), path, '--part-size', '1'], env);
  assert.equal(tty.code, 0, tty.output);
  assert.match(tty.output, /upload progress\.bin \[[█░]+\] 100% \| 12\.0 MiB\/12\.0 MiB \| [\d.]+ (KiB|MiB|GiB)\/s \| ETA 00:00/);
  assert.match(tty.output, /\r|\x1b\[/, 'the bar redraws in place');
  assert.match(tty.output, /"resumedParts":0/);

  const plain = await firn(['upload', ...common(), path, '--part-size', '1', '--description', 'plain'], env);
  assert.equal(plain.code, 0, plain.stderr);
  assert.match(plain.stderr, /upload progress\.bin: 100% 12\.0 MiB\/12\.0 MiB/);
  assert.doesNotMatch(plain.stderr, /\x1b\[|\r|█/);

  const quiet = await firn(['upload', ...common(), path, '--part-size', '1', '--description', 'quiet', '--quiet'], env);
  assert.equal(quiet.code, 0, quiet.stderr);
  assert.equal(quiet.stderr, '');
});
