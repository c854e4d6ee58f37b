import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, existsSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { seededBytes } from '../helpers/glacier-raw.js';
import { uploadArchive, uploadPart } from '../helpers/uploads.js';
import { createLogger } from '../../src/lib/logger.js';
import { treeHash } from '../../src/domain/treehash.js';
import type { ScrubFinding } from '../../src/storage/scrub.js';

/**
 * Bit rot: bytes damaged on disk after they were acknowledged are never served as a good
 * retrieval. Retrieval jobs check them before they succeed, GetJobOutput checks them as they
 * stream, and `firn scrub` finds them.
 */
const MiB = 1024 * 1024;
const CLI = fileURLToPath(new URL('../helpers/firn-cli.ts', import.meta.url));
const logLines: any[] = [];
let s: TestServer;
before(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) logLines.push(JSON.parse(l));
      cb();
    },
  });
  s = await startTestServer({ log: createLogger('error', sink) });
});
after(async () => {
  await s.close();
});

const json = (body: unknown) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

async function vaultWith(vault: string, data: Buffer): Promise<string> {
  await s.request({ method: 'PUT', path: `/-/vaults/${vault}` });
  const r = await uploadArchive(s, vault, data);
  assert.equal(r.status, 201);
  return r.headers['x-amz-archive-id'] as string;
}

/** Flips one byte at `offset` of the file holding a blob (a manifest's member holds its part's bytes). */
function flipByte(blobKey: string, offset: number, dataDir = s.dataDir): void {
  const fd = openSync(join(dataDir, 'blobs', 'data', blobKey.slice(-2), blobKey), 'r+');
  try {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, offset);
    b[0]! ^= 0x20;
    writeSync(fd, b, 0, 1, offset);
  } finally {
    closeSync(fd);
  }
}

async function blobOf(vault: string, archiveId: string): Promise<string> {
  const v = await s.running.app.store.vaults.get({ accountId: s.accountId, region: 'us-east-1', name: vault });
  return (await s.running.app.store.archives.get(v!.id, archiveId))!.blobKey;
}

async function retrieve(vault: string, archiveId: string, range?: string) {
  const r = await s.request({ method: 'POST', path: `/-/vaults/${vault}/jobs`, ...json({ Type: 'archive-retrieval', ArchiveId: archiveId, ...(range ? { RetrievalByteRange: range } : {}) }) });
  assert.equal(r.status, 202, r.body.toString());
  await s.running.app.jobs.runDue();
  const jobId = r.headers['x-amz-job-id'] as string;
  return { jobId, describe: (await s.request({ method: 'GET', path: `/-/vaults/${vault}/jobs/${jobId}` })).json() };
}

/** GetJobOutput, read to the end or to where the server cut it. */
function download(vault: string, jobId: string, range?: string) {
  return s.request({ method: 'GET', path: `/-/vaults/${vault}/jobs/${jobId}/output`, headers: range ? { range } : {}, allowCut: true });
}

test('a retrieval of damaged bytes fails, naming the archive and the MiB, and logs at error level', async () => {
  const data = seededBytes('rot-job', 3 * MiB + 5000);
  const archiveId = await vaultWith('rot-job', data);
  flipByte(await blobOf('rot-job', archiveId), 2 * MiB + 17);
  const { describe } = await retrieve('rot-job', archiveId);
  assert.equal(describe.StatusCode, 'Failed');
  assert.equal(describe.Completed, true);
  assert.match(describe.StatusMessage, new RegExp(`archive ${archiveId}, MiB 2 \\(bytes ${2 * MiB}-${3 * MiB - 1}\\)`));
  const logged = logLines.find((l) => l.archiveId === archiveId);
  assert.equal(logged?.level, 50, 'logged at error level');
  assert.equal(logged.mib, 2);
  // A range that avoids the damaged MiB is still served.
  const ok = await retrieve('rot-job', archiveId, `0-${2 * MiB - 1}`);
  assert.equal(ok.describe.StatusCode, 'Succeeded');
});

test('GetJobOutput checks bytes as they stream and cuts the response before a damaged MiB', async () => {
  const data = seededBytes('rot-out', 4 * MiB + 123);
  const archiveId = await vaultWith('rot-out', data);
  const { jobId, describe } = await retrieve('rot-out', archiveId);
  assert.equal(describe.StatusCode, 'Succeeded');
  // The damage happens during the 24-hour output window, after the job checked the bytes.
  flipByte(await blobOf('rot-out', archiveId), 2 * MiB + 1);
  const r = await download('rot-out', jobId);
  assert.equal(r.status, 200);
  assert.equal(Number(r.headers['content-length']), data.length);
  assert.equal(r.cut, true, 'the body is cut short, never complete');
  assert.ok(r.body.length <= 2 * MiB, `at most the sound MiBs before the damaged one arrive (${r.body.length})`);
  assert.ok(r.body.equals(data.subarray(0, r.body.length)), 'every byte that arrived is a good byte');
  assert.equal(logLines.find((l) => l.jobId === jobId)?.mib, 2);
  // Ranges that end before the damage, or start after it (unaligned), arrive whole and correct.
  const head = await download('rot-out', jobId, `bytes=100-${2 * MiB - 1}`);
  assert.equal(head.status, 206);
  assert.ok(!head.cut && head.body.equals(data.subarray(100, 2 * MiB)));
  const tail = await download('rot-out', jobId, `bytes=${3 * MiB + 7}-`);
  assert.ok(!tail.cut && tail.body.equals(data.subarray(3 * MiB + 7)));
  const across = await download('rot-out', jobId, `bytes=${2 * MiB - 10}-${2 * MiB + 10}`);
  assert.equal(across.cut, true);
  assert.ok(across.body.length <= 10 && across.body.equals(data.subarray(2 * MiB - 10, 2 * MiB - 10 + across.body.length)));
});

test('a multipart archive is checked across its parts', async () => {
  await s.request({ method: 'PUT', path: '/-/vaults/rot-mp' });
  const data = seededBytes('rot-mp', 3 * MiB);
  const init = await s.request({ method: 'POST', path: '/-/vaults/rot-mp/multipart-uploads', headers: { 'x-amz-part-size': String(MiB) } });
  const uploadId = init.headers['x-amz-multipart-upload-id'] as string;
  for (let i = 0; i < 3; i++) assert.equal((await uploadPart(s, 'rot-mp', uploadId, i * MiB, data.subarray(i * MiB, (i + 1) * MiB))).status, 204);
  const done = await s.request({ method: 'POST', path: `/-/vaults/rot-mp/multipart-uploads/${uploadId}`, headers: { 'x-amz-archive-size': String(data.length), 'x-amz-sha256-tree-hash': treeHash(data) } });
  assert.equal(done.status, 201);
  const archiveId = done.headers['x-amz-archive-id'] as string;
  assert.equal((await retrieve('rot-mp', archiveId)).describe.StatusCode, 'Succeeded');
  // Damage the last part's own blob (the archive is a manifest over the parts).
  const manifest = await blobOf('rot-mp', archiveId);
  const { members } = JSON.parse(readFileSync(join(s.dataDir, 'blobs', 'data', manifest.slice(-2), manifest), 'utf8')) as { members: { key: string }[] };
  flipByte(members[2]!.key, 5);
  const failed = await retrieve('rot-mp', archiveId);
  assert.equal(failed.describe.StatusCode, 'Failed');
  assert.match(failed.describe.StatusMessage, /MiB 2 /);
});

/**
 * Runs `firn` in a child process without blocking this one: the in-process server keeps serving
 * meanwhile (as beside a real server), so its keep-alive timers do not all fire at once afterwards
 * and reset the connection the next request reuses.
 */
function firnCli(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    p.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    p.on('error', reject);
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

function scrubCli(...args: string[]) {
  return firnCli(['scrub', '--data-dir', s.dataDir, ...(s.metadataUrl ? ['--metadata-url', s.metadataUrl] : []), ...args]);
}

test('firn scrub beside the running server: one line per damaged archive and part, exit 1; sound vaults exit 0', async () => {
  const sound = await vaultWith('scrub-sound', seededBytes('scrub-sound', MiB + 1));
  const bad = await vaultWith('scrub-bad', seededBytes('scrub-bad', 2 * MiB + 9));
  flipByte(await blobOf('scrub-bad', bad), MiB + 3);
  // A part of a multipart upload in progress, damaged too.
  const init = await s.request({ method: 'POST', path: '/-/vaults/scrub-bad/multipart-uploads', headers: { 'x-amz-part-size': String(MiB) } });
  const uploadId = init.headers['x-amz-multipart-upload-id'] as string;
  assert.equal((await uploadPart(s, 'scrub-bad', uploadId, MiB, seededBytes('part', MiB))).status, 204);
  const [part] = await s.running.app.store.uploads.allParts(uploadId);
  flipByte(part!.blobKey, 0);

  const ok = await scrubCli('--vault', 'scrub-sound');
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(ok.stdout, '');
  assert.match(ok.stderr, /1 archive and 0 parts checked.*no damage found/);

  const r = await scrubCli('--vault', 'scrub-bad', '--account-id', s.accountId);
  assert.equal(r.status, 1, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 2, r.stdout);
  assert.match(lines[0]!, new RegExp(`^damaged archive ${bad} in vault scrub-bad \\(arn:aws:glacier:us-east-1:${s.accountId}:vaults/scrub-bad\\): 1 damaged MiB, the first is MiB 1$`));
  assert.match(lines[1]!, new RegExp(`^damaged part 1 of multipart upload ${uploadId} in vault scrub-bad .*MiB 0$`));
  assert.ok(!r.stdout.includes(sound));
  assert.equal((await scrubCli('--account-id', '999999999999')).status, 0, 'another account has nothing to check');
  assert.equal((await scrubCli()).status, 1, 'the whole data dir includes the damage');
  // A directory `firn serve` never created is refused (exit 2) and left uncreated.
  const missing = join(s.dataDir, 'no-such-dir');
  const none = await firnCli(['scrub', '--data-dir', missing]);
  assert.equal(none.status, 2, none.stderr);
  assert.match(none.stderr, /no Firn data directory at .*no-such-dir/);
  assert.equal(existsSync(missing), false);
});

test('the background scrub reports findings to listeners (e.g. metrics) and logs them', async () => {
  const id = await vaultWith('scrub-bg', seededBytes('scrub-bg', 1000));
  flipByte(await blobOf('scrub-bg', id), 999);
  const seen: ScrubFinding[] = [];
  const off = s.running.app.scrubber.onFinding((f) => seen.push(f));
  try {
    const summary = await s.running.app.scrubber.runPass();
    assert.ok(summary.damaged >= 1);
  } finally {
    off();
  }
  const f = seen.find((x) => x.archiveId === id);
  assert.deepEqual(f && { vault: f.vaultName, kind: f.kind, mib: f.firstBadMiB, reason: f.reason }, { vault: 'scrub-bg', kind: 'archive', mib: 0, reason: 'mismatch' });
  assert.ok(logLines.some((l) => l.archiveId === id && l.level === 50 && /damaged archive/.test(l.msg)));
  // The app counts them in /_firn/metrics, labelled by kind and reason only.
  const metrics = await (await fetch(`${s.url}/_firn/metrics`)).text();
  const count = /^firn_scrub_findings_total\{kind="archive_mismatch"\} (\d+)$/m.exec(metrics);
  assert.ok(count && Number(count[1]) >= 1, 'firn_scrub_findings_total{kind="archive_mismatch"} counts the finding');
});

test('FIRN_SCRUB_INTERVAL runs passes on its own', async () => {
  const t = await startTestServer({ config: { scrubInterval: 10 } });
  try {
    await t.request({ method: 'PUT', path: '/-/vaults/auto' });
    const up = await uploadArchive(t, 'auto', seededBytes('auto', 4000));
    const archiveId = up.headers['x-amz-archive-id'] as string;
    const found = new Promise<ScrubFinding>((resolve) => t.running.app.scrubber.onFinding(resolve));
    const v = await t.running.app.store.vaults.get({ accountId: t.accountId, region: 'us-east-1', name: 'auto' });
    const blobKey = (await t.running.app.store.archives.get(v!.id, archiveId))!.blobKey;
    flipByte(blobKey, 3999, t.dataDir);
    assert.equal((await found).archiveId, archiveId);
  } finally {
    await t.close();
  }
});
