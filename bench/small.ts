/**
 * Small uploads and small requests, Firn and moto_server side by side (issue "Performance: small
 * uploads and small requests"): `npm run bench -- small [--rounds N] [--small-pairs N]`.
 *
 * Every round starts both servers once; each item is then measured on one server and at once on
 * the other (the order flips every item), several pairs per round, and run.ts reports the ratio as
 * the median of those back-to-back pairs.
 *
 * - UploadArchive 1 MiB and 256 MiB: bench/glacier_client.py `upload`, hashes precomputed.
 * - UploadArchive 1 KiB: the same client, many sequential uploads; the figure is the median of the
 *   per-upload times (perf_counter around upload_archive) after a warm-up.
 * - DescribeVault: wrk replays one SigV4-signed GET /-/vaults/NAME (a signature stays valid for
 *   15 minutes and Glacier has no replay protection), so the client costs almost nothing.
 */
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { SignatureV4 } from '@smithy/signature-v4';
import { HttpRequest } from '@smithy/protocol-http';
import { Sha256 } from '@aws-crypto/sha256-js';
import { startFirn, startMoto, python, KEY, SECRET, type BenchServer } from './servers.js';

export interface SmallDeps {
  firnDir: string;
  rounds: number;
  /** Back-to-back pairs of every item per round. */
  pairs: number;
  work: string;
  py(command: string, server: BenchServer, opts: Record<string, string | number>): Promise<any>;
  dataFile(size: number): Promise<{ file: string; hashesFile: string; hashes: { size: number } }>;
  measured<T>(server: BenchServer, fn: () => Promise<T>): Promise<{ result: T; rss: number }>;
  record(s: { table: string; workload: string; server: 'firn' | 'moto'; value: number; unit: string; rss?: number; pair?: string; lowerIsBetter?: boolean }): void;
  notes: string[];
  log(m: string): void;
}

const MiB = 1024 * 1024;
const VAULT = 'bench';
const WRK = { threads: 2, connections: 8, seconds: 5 };
const SMALL = { uploads: 200, warmup: 20 };
const MIB_COUNT = 16;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Throws a clear message when wrk is missing. */
export function requireWrk(): void {
  const r = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  if (r.error) {
    throw new Error('wrk is not installed (needed for the DescribeVault row of `npm run bench -- small`): on Debian/Ubuntu `apt-get install -y wrk`');
  }
}

/** The headers of a SigV4-signed DescribeVault request (valid for 15 minutes, replayable). */
export async function signedDescribeVault(url: string): Promise<{ path: string; headers: Record<string, string> }> {
  const u = new URL(url);
  const path = `/-/vaults/${VAULT}`;
  const signer = new SignatureV4({
    credentials: { accessKeyId: KEY, secretAccessKey: SECRET },
    region: 'us-east-1',
    service: 'glacier',
    sha256: Sha256,
    uriEscapePath: true,
    applyChecksum: false,
  });
  const req = new HttpRequest({
    method: 'GET',
    protocol: 'http:',
    hostname: u.hostname,
    port: Number(u.port),
    path,
    headers: { host: u.host, 'x-amz-glacier-version': '2012-06-01' },
  });
  const signed = await signer.sign(req, { signingDate: new Date() });
  return { path, headers: signed.headers as Record<string, string> };
}

/** One plain request with the signed headers: the status and body. */
function plainGet(url: string, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const r = httpRequest(url + path, { method: 'GET', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    r.on('error', reject);
    r.end();
  });
}

const luaString = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** wrk replaying the signed DescribeVault; returns Requests/sec. */
export async function wrkDescribeVault(server: BenchServer, work: string): Promise<number> {
  const { path, headers } = await signedDescribeVault(server.url);
  const check = await plainGet(server.url, path, headers);
  if (check.status !== 200) throw new Error(`${server.name}: signed DescribeVault answered ${check.status}: ${check.body.slice(0, 300)}`);
  const script = join(work, `describe-vault-${server.name}-${process.pid}.lua`);
  const lines = ['wrk.method = "GET"', `wrk.path = ${luaString(path)}`];
  // wrk adds its own `Host` unless the script sets exactly that key: a second host header would
  // change the signed value.
  for (const [k, v] of Object.entries(headers)) lines.push(`wrk.headers[${luaString(k.toLowerCase() === 'host' ? 'Host' : k)}] = ${luaString(v)}`);
  writeFileSync(script, lines.join('\n') + '\n');
  const argv = [`-t${WRK.threads}`, `-c${WRK.connections}`, `-d${WRK.seconds}s`, '-s', script, server.url + path];
  const proc = spawn('wrk', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const [code] = (await once(proc, 'exit')) as [number];
  if (code !== 0) throw new Error(`wrk against ${server.name} failed (${code}): ${out}`);
  const bad = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
  if (bad) throw new Error(`wrk against ${server.name}: ${bad[1]} answers were not 2xx:\n${out}`);
  const errs = /Socket errors:.*/.exec(out);
  if (errs) throw new Error(`wrk against ${server.name}: ${errs[0]}\n${out}`);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (!rps) throw new Error(`wrk against ${server.name}: no Requests/sec in\n${out}`);
  return Number(rps[1]);
}

export async function smallBench(d: SmallDeps): Promise<void> {
  requireWrk();
  const files = { kib: await d.dataFile(1024), mib: await d.dataFile(MiB), big: await d.dataFile(256 * MiB) };
  const T = 'small';
  const names = {
    mib: 'UploadArchive 1 MiB, one client (boto3, sequential; target ≥ 1.5× moto)',
    kib: 'UploadArchive 1 KiB, one client (boto3, sequential; ms per upload, lower is better; target ≤ 2 ms)',
    describe: `signed DescribeVault under wrk (-t${WRK.threads} -c${WRK.connections} -d${WRK.seconds}s; target ≥ 30× moto)`,
    big: 'UploadArchive 256 MiB (boto3, hashes precomputed; target ≥ 3×)',
  };
  let flip = 0;
  const order = (): ('firn' | 'moto')[] => (flip++ % 2 === 0 ? ['firn', 'moto'] : ['moto', 'firn']);
  for (let round = 0; round < d.rounds; round++) {
    d.log(`small round ${round + 1}/${d.rounds}`);
    const servers = { firn: await startFirn(d.firnDir), moto: await startMoto() };
    try {
      for (const s of Object.values(servers)) await d.py('vault', s, { vault: VAULT });
      for (let p = 0; p < d.pairs; p++) {
        const pair = (item: string) => `${item}#${round}.${p}`;
        for (const which of order()) {
          const s = servers[which];
          const f = files.mib;
          const { result, rss } = await d.measured(s, () => d.py('upload', s, { vault: VAULT, file: f.file, hashes: f.hashesFile, count: MIB_COUNT, mode: 'precomputed' }));
          const total = (result.times as number[]).reduce((a, b) => a + b, 0);
          d.record({ table: T, workload: names.mib, server: which, value: (f.hashes.size * MIB_COUNT) / 1e6 / total, unit: 'MB/s', rss, pair: pair('mib') });
        }
        for (const which of order()) {
          const s = servers[which];
          const f = files.kib;
          const { result, rss } = await d.measured(s, () =>
            d.py('upload', s, { vault: VAULT, file: f.file, hashes: f.hashesFile, count: SMALL.warmup + SMALL.uploads, mode: 'precomputed' }),
          );
          const times = (result.times as number[]).slice(SMALL.warmup);
          d.record({ table: T, workload: names.kib, server: which, value: median(times) * 1000, unit: 'ms', rss, pair: pair('kib'), lowerIsBetter: true });
        }
        for (const which of order()) {
          const s = servers[which];
          const { result, rss } = await d.measured(s, () => wrkDescribeVault(s, d.work));
          d.record({ table: T, workload: names.describe, server: which, value: result, unit: 'req/s', rss, pair: pair('describe') });
        }
        for (const which of order()) {
          const s = servers[which];
          const f = files.big;
          const { result, rss } = await d.measured(s, () => d.py('upload', s, { vault: VAULT, file: f.file, hashes: f.hashesFile, count: 1, mode: 'precomputed' }));
          d.record({ table: T, workload: names.big, server: which, value: f.hashes.size / 1e6 / result.times[0], unit: 'MB/s', rss, pair: pair('big') });
        }
      }
    } finally {
      await servers.firn.stop();
      await servers.moto.stop();
    }
  }
  const moto = execFileSync(python(), ['-c', 'import moto; print(moto.__version__)'], { encoding: 'utf8' }).trim();
  d.notes.push(
    `Small uploads and requests (bench/small.ts): Firn and moto_server ${moto} both started once per round; every item measured on one and at once on the other (order flipped every item), ${d.pairs} pairs per round; ratio = median of the per-pair ratios (moto ms / Firn ms for the 1 KiB row). ` +
      `Uploads: bench/glacier_client.py \`upload\` (boto3, one client, sequential, both hashes precomputed so the client does not hash); 1 MiB: ${MIB_COUNT} uploads, MB/s = bytes / sum of the call times; 1 KiB: ${SMALL.warmup} warm-up uploads, then the median of ${SMALL.uploads} per-upload times (perf_counter around upload_archive, so the boto3 client's own cost is included); 256 MiB: one upload per pair. ` +
      `DescribeVault: one request SigV4-signed in Node (@smithy/signature-v4; valid 15 minutes), checked once with a plain request (200 on both; moto accepts any signature), then replayed by wrk ${WRK.threads} threads, ${WRK.connections} connections, ${WRK.seconds} s through a generated Lua script; Firn verifies the signature, checks the key and evaluates the vault's policies on every request. wrk shares the 2 cores with the server.`,
  );
}
