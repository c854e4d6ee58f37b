/**
 * Sequential UploadArchive latency on the embedded default (SQLite + files), one client, with both
 * hashes and the signature computed before the clock starts, so the time is transfer plus server
 * work. Two Firn builds side by side (`--base`, `--src`: head, tree or a built directory), measured
 * in back-to-back batches (order flipped each time) so that a shared machine's drift cancels in
 * the per-pair ratio; also each server's CPU time per upload (utime + stime, /proc/<pid>/stat).
 * Not a test:
 *   node --import tsx bench/upload-latency.ts [--base head] [--src tree] [--sizes 1024,1048576]
 *     [--batch 50] [--pairs 9] [--big 3]
 * `--base none` measures one build. `--big N`: N pairs of one 256 MiB upload (MiB/s).
 * BENCH_FIRN_NODE_ARGS profiles the servers.
 */
import { readFileSync } from 'node:fs';
import { request, Agent } from 'node:http';
import { prepareFirn, startFirn, KEY, SECRET, type BenchServer } from './servers.js';
import { signedRequest, signedUploadHeaders } from '../test/helpers/server.js';
import { seededBytes } from '../test/helpers/glacier-raw.js';
import { treeHash } from '../src/domain/treehash.js';

const args = process.argv.slice(2);
const flag = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const SIZES = flag('sizes', '1024,1048576').split(',').map(Number);
const BATCH = Number(flag('batch', '50'));
const PAIRS = Number(flag('pairs', '9'));
const BIG = Number(flag('big', '0'));
const creds = { accessKeyId: KEY, secretAccessKey: SECRET };
const PATH = '/-/vaults/lat/archives';

const cpuMs = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // clock ticks (100/s)
};
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

interface Side {
  label: string;
  server: BenchServer;
  agent: Agent;
  ms: Record<number, number[]>;
  cpu: Record<number, number[]>;
}

async function side(label: string, src: string): Promise<Side> {
  const { dir, commit } = prepareFirn(src);
  const server = await startFirn(dir);
  await signedRequest(server.url, { method: 'PUT', path: '/-/vaults/lat', creds });
  return { label: `${label} ${commit}`, server, agent: new Agent({ keepAlive: true, maxSockets: 1 }), ms: {}, cpu: {} };
}

/** `fresh`: a new connection (the pooled one may have timed out on the server while a big body was prepared). */
function post(s: Side, headers: Record<string, string>, data: Buffer, fresh = false): Promise<number> {
  return new Promise<number>((done, fail) => {
    const req = request(`${s.server.url}${PATH}`, { method: 'POST', headers, agent: fresh ? false : s.agent }, (res) => {
      res.resume();
      res.on('end', () => done(res.statusCode ?? 0));
    });
    req.on('error', fail);
    req.end(data);
  });
}

/** ms per upload over `n` sequential uploads, and the server's CPU ms per upload. */
async function batch(s: Side, headers: Record<string, string>, data: Buffer, n: number): Promise<{ ms: number; cpu: number }> {
  const c0 = cpuMs(s.server.pid);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const st = await post(s, headers, data);
    if (st !== 201) throw new Error(`${s.label}: upload answered ${st}`);
  }
  return { ms: (performance.now() - t0) / n, cpu: (cpuMs(s.server.pid) - c0) / n };
}

const sides: Side[] = [];
try {
  const base = flag('base', 'head');
  if (base !== 'none') sides.push(await side('base', base));
  sides.push(await side('new', flag('src', 'tree')));
  console.log(`${sides.map((s) => s.label).join(' vs ')}: ${PAIRS} pairs of ${BATCH} sequential uploads per size`);
  for (const size of SIZES) {
    const data = seededBytes(`lat-${size}`, size);
    const th = treeHash(data);
    const hs = await Promise.all(sides.map((s) => signedUploadHeaders(s.server.url, creds, PATH, data, th)));
    const n = size >= 1 << 20 ? Math.max(10, Math.floor(BATCH / 4)) : BATCH;
    for (const [i, s] of sides.entries()) await batch(s, hs[i]!, data, n); // warm-up
    const ratios: number[] = [];
    for (let p = 0; p < PAIRS; p++) {
      const order = p % 2 ? [...sides.keys()].reverse() : [...sides.keys()];
      const got: number[] = [];
      for (const i of order) {
        const r = await batch(sides[i]!, hs[i]!, data, n);
        (sides[i]!.ms[size] ??= []).push(r.ms);
        (sides[i]!.cpu[size] ??= []).push(r.cpu);
        got[i] = r.ms;
      }
      if (sides.length === 2) ratios.push(got[0]! / got[1]!);
    }
    for (const s of sides) {
      const ms = s.ms[size]!;
      const mibs = size / (1 << 20) / (median(ms) / 1000);
      console.log(
        `${s.label.padEnd(20)} ${String(size).padStart(9)} B: ${median(ms).toFixed(3)} ms/upload (${Math.min(...ms).toFixed(3)}–${Math.max(...ms).toFixed(3)}), ${mibs.toFixed(1)} MiB/s, server CPU ${median(s.cpu[size]!).toFixed(2)} ms/upload`,
      );
    }
    if (ratios.length) console.log(`  base/new time ratio: median ${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`);
  }
  if (BIG > 0) {
    const size = 256 << 20;
    const data = seededBytes('lat-big', size);
    const th = treeHash(data);
    const hs = await Promise.all(sides.map((s) => signedUploadHeaders(s.server.url, creds, PATH, data, th)));
    const rates: number[][] = sides.map(() => []);
    for (let p = 0; p < BIG; p++) {
      const order = p % 2 ? [...sides.keys()].reverse() : [...sides.keys()];
      for (const i of order) {
        const t0 = performance.now();
        if ((await post(sides[i]!, hs[i]!, data, true)) !== 201) throw new Error('big upload failed');
        rates[i]!.push(256 / ((performance.now() - t0) / 1000));
      }
    }
    for (const [i, s] of sides.entries()) {
      console.log(`${s.label.padEnd(20)} 256 MiB: median ${median(rates[i]!).toFixed(0)} MiB/s (${Math.min(...rates[i]!).toFixed(0)}–${Math.max(...rates[i]!).toFixed(0)})`);
    }
  }
} finally {
  for (const s of sides) {
    s.agent.destroy();
    await s.server.stop();
  }
}
