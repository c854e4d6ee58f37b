/**
 * What checking stored bytes costs (not a test):
 *   - GetJobOutput of a 1 GiB archive with streaming verification (FIRN_VERIFY_DOWNLOADS=true, the
 *     default) and without it, through a Node client (server-bound) and through boto3;
 *   - the archive retrieval job of that archive (it reads and checks the GiB before it succeeds);
 *   - `firn scrub` of the data directory beside the running server.
 *
 * Usage: node --import tsx bench/verify.ts [--rounds N] [--src head|tree]
 * One data directory; the servers run one after the other on it (verify on, off, on, off …), so
 * both read the same file, and the rounds alternate the order.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignatureV4 } from '@smithy/signature-v4';
import { HttpRequest } from '@smithy/protocol-http';
import { Sha256 } from '@aws-crypto/sha256-js';
import { KEY, SECRET, ROOT, prepareFirn, python, startFirn, type BenchServer } from './servers.js';
import { seededBytes } from '../test/helpers/glacier-raw.js';
import { signedRequest, signedUploadHeaders } from '../test/helpers/server.js';
import { MiB, treeHash } from '../src/domain/treehash.js';

const args = process.argv.slice(2);
const flag = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const ROUNDS = Number(flag('rounds', '3'));
const SIZE = 1024 * MiB;
const creds = { accessKeyId: KEY, secretAccessKey: SECRET };
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** GET …/output drained without keeping the bytes; returns MiB/s. */
async function nodeDownload(url: string, path: string): Promise<number> {
  const u = new URL(url);
  const signer = new SignatureV4({ credentials: creds, region: 'us-east-1', service: 'glacier', sha256: Sha256, uriEscapePath: true, applyChecksum: false });
  const signed = await signer.sign(
    new HttpRequest({ method: 'GET', protocol: 'http:', hostname: u.hostname, port: Number(u.port), path, headers: { host: u.host, 'x-amz-glacier-version': '2012-06-01' } }),
  );
  const t0 = performance.now();
  const n = await new Promise<number>((resolve, reject) => {
    httpRequest({ host: u.hostname, port: u.port, method: 'GET', path, headers: signed.headers as Record<string, string> }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve(bytes));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
  if (n !== SIZE) throw new Error(`downloaded ${n} bytes`);
  return n / MiB / ((performance.now() - t0) / 1000);
}

async function boto3Download(url: string, archiveId: string): Promise<number> {
  const p = spawn(python(), [join(ROOT, 'bench', 'glacier_client.py'), 'output', '--endpoint', url, '--vault', 'v', `--archive-id=${archiveId}`], {
    env: { ...process.env, BENCH_KEY: KEY, BENCH_SECRET: SECRET },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await once(p, 'exit');
  const r = JSON.parse(out.trim().split('\n').pop()!) as { times: number[]; bytes: number };
  if (r.bytes !== SIZE) throw new Error(`boto3 downloaded ${r.bytes} bytes`);
  return r.bytes / MiB / r.times[0]!;
}

const { dir: build, commit } = prepareFirn(flag('src', 'head'));
const dataDir = mkdtempSync(join(process.env.BENCH_DATA_DIR ?? tmpdir(), 'firn-bench-verify-'));
const results: Record<string, number[]> = {};
const note = (k: string, v: number) => {
  (results[k] ??= []).push(v);
  console.error(`  ${k}: ${v.toFixed(0)}`);
};
try {
  // Upload the GiB and run one retrieval job (verify on: the job always checks its bytes).
  let archiveId = '';
  let jobId = '';
  {
    const s = await startFirn(build, { FIRN_VERIFY_DOWNLOADS: 'true' }, dataDir);
    try {
      const data = Buffer.concat(Array.from({ length: SIZE / (64 * MiB) }, (_, i) => seededBytes(`verify-${i}`, 64 * MiB)));
      await signedRequest(s.url, { creds, method: 'PUT', path: '/-/vaults/v' });
      const headers = await signedUploadHeaders(s.url, creds, '/-/vaults/v/archives', data, treeHash(data));
      archiveId = await new Promise<string>((resolve, reject) => {
        const u = new URL(s.url);
        httpRequest({ host: u.hostname, port: u.port, method: 'POST', path: '/-/vaults/v/archives', headers }, (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 201 ? resolve(res.headers['x-amz-archive-id'] as string) : reject(new Error(`upload ${res.statusCode}`))));
        })
          .on('error', reject)
          .end(data);
      });
      for (let round = 0; round < ROUNDS; round++) {
        const t0 = performance.now();
        const j = await signedRequest(s.url, { creds, method: 'POST', path: '/-/vaults/v/jobs', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ Type: 'archive-retrieval', ArchiveId: archiveId }) });
        jobId = j.headers['x-amz-job-id'] as string;
        for (;;) {
          const d = (await signedRequest(s.url, { creds, method: 'GET', path: `/-/vaults/v/jobs/${jobId}` })).json();
          if (d.Completed) {
            if (d.StatusCode !== 'Succeeded') throw new Error(d.StatusMessage);
            break;
          }
          await new Promise((r) => setTimeout(r, 5));
        }
        note('retrieval job of 1 GiB, InitiateJob → Succeeded (ms)', performance.now() - t0);
      }
    } finally {
      await s.stop();
    }
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const verify of round % 2 === 0 ? [true, false] : [false, true]) {
      const s: BenchServer = await startFirn(build, { FIRN_VERIFY_DOWNLOADS: String(verify) }, dataDir);
      try {
        const label = verify ? 'verified' : 'unverified';
        note(`GetJobOutput 1 GiB, Node client, ${label} (MiB/s)`, await nodeDownload(s.url, `/-/vaults/v/jobs/${jobId}/output`));
        note(`GetJobOutput 1 GiB, boto3, ${label} (MiB/s)`, await boto3Download(s.url, archiveId));
        if (verify) {
          const t0 = performance.now();
          const r = spawnSync(process.execPath, [join(build, 'bin', 'firn.js'), 'scrub', '--data-dir', dataDir], { encoding: 'utf8' });
          if (r.status !== 0) throw new Error(`scrub exited ${r.status}: ${r.stderr}`);
          note('firn scrub of 1 GiB beside the idle server (MiB/s, wall time incl. start-up)', SIZE / MiB / ((performance.now() - t0) / 1000));
        }
      } finally {
        await s.stop();
      }
    }
  }
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
console.log(`\nFirn ${commit}, ${ROUNDS} rounds, median (min–max):\n`);
console.log('| Measurement | Median | Min–max |\n|---|---:|---:|');
for (const [k, v] of Object.entries(results)) console.log(`| ${k} | ${median(v).toFixed(0)} | ${Math.min(...v).toFixed(0)}–${Math.max(...v).toFixed(0)} |`);
