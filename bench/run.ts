/**
 * Firn benchmarks, side by side with moto_server in the same run (issue #3 item 7, issue #4 item 9).
 * Not a test: `npm run bench -- <workload…> [--rounds N] [--src head|tree]`.
 *
 * Workloads: sha (openssl single-core figure), upload, multipart, output, inventory, rates, transfer
 * (`firn upload`/`firn download` vs the aws CLI, bench/transfer.ts), all; and, only when named,
 * target, backends (embedded vs PostgreSQL metadata, bench/backends.ts), cluster (embedded vs
 * PostgreSQL + S3, one node vs three, bench/cluster.ts; `--quick` makes those two a smoke run)
 * and small (small uploads and signed DescribeVault under wrk, bench/small.ts; `--small-pairs N`).
 * Rounds are interleaved (firn, moto, firn, moto … with the order flipped every round) and the
 * tables give medians, because the 2-core machine is shared with other work.
 */
import { spawn, execFileSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { cpus, totalmem } from 'node:os';
import Database from 'better-sqlite3';
import { RssSampler, prepareFirn, startFirn, startMoto, python, ROOT, KEY, SECRET, type BenchServer } from './servers.js';
import { seededBytes } from '../test/helpers/glacier-raw.js';
import { RawGlacier } from '../test/helpers/glacier-raw.js';
import { MiB, TreeHasher } from '../src/domain/treehash.js';
import { encodeSortable, randomChars } from '../src/domain/ids.js';
import { createHash, randomBytes } from 'node:crypto';
import { transferBench } from './transfer.js';
import { backendsBench } from './backends.js';
import { clusterBench } from './cluster.js';
import { smallBench } from './small.js';

const args = process.argv.slice(2);
const flag = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const ROUNDS = Number(flag('rounds', '3'));
const SRC = flag('src', 'head');
const INVENTORY_N = Number(flag('archives', '1000000'));
const workloads = args.filter((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1]!.startsWith('--')));
const want = (w: string) => workloads.length === 0 || workloads.includes('all') || workloads.includes(w);
const WORK = join(ROOT, '.bench-tmp');
mkdirSync(WORK, { recursive: true });

// ------------------------------------------------------------------------------------------------
// Results

interface Sample {
  table: string;
  workload: string;
  /** 'firn' | 'moto', or 'pg' | 'embedded' in the backends tables. */
  server: string;
  value: number;
  unit: string;
  rss?: number;
  /** Samples with the same pair id were taken back to back on the two servers. */
  pair?: string;
  /** This row is a time (lower is better) in a table of rates: its ratio is b / a. */
  lowerIsBetter?: boolean;
}
const samples: Sample[] = [];
const notes: string[] = [];
/** Sections with their own table shape (transfer: tools, not servers, side by side). */
const extraSections: string[] = [];
const record = (s: Sample) => {
  samples.push(s);
  const rss = s.rss ? `, peak RSS ${mb(s.rss)} MB` : '';
  console.error(`  ${s.server.padEnd(4)} ${s.workload}: ${s.value.toFixed(s.value < 10 ? 2 : 0)} ${s.unit}${rss}`);
};
const mb = (b: number) => (b / 1e6).toFixed(0);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

// ------------------------------------------------------------------------------------------------
// Data files (deterministic bytes) and their hashes, computed once and cached

interface Hashes {
  size: number;
  sha256: string;
  treeHash: string;
  parts: Record<string, { size: number; sha256: string; treeHash: string }[]>;
}

async function dataFile(size: number, partSizes: number[] = []): Promise<{ file: string; hashesFile: string; hashes: Hashes }> {
  const file = join(WORK, `data-${size}.bin`);
  const hashesFile = `${file}.hashes.json`;
  if (existsSync(hashesFile) && existsSync(file) && statSync(file).size === size) {
    const hashes = JSON.parse(readFileSync(hashesFile, 'utf8')) as Hashes;
    if (partSizes.every((p) => hashes.parts[String(p)])) return { file, hashesFile, hashes };
  }
  console.error(`  generating ${file} (${size} bytes)`);
  const out = createWriteStream(file);
  const whole = new TreeHasher({ linear: true });
  const parts: Hashes['parts'] = Object.fromEntries(partSizes.map((p) => [String(p), []]));
  const partHashers = partSizes.map(() => new TreeHasher({ linear: true }));
  const chunk = 8 * MiB;
  for (let off = 0; off < size; off += chunk) {
    const n = Math.min(chunk, size - off);
    const buf = seededBytes(`bench-${size}-${off}`, n);
    whole.update(buf);
    partSizes.forEach((p, i) => {
      // Chunk size divides every part size used (64 MiB), so a chunk never straddles two parts.
      partHashers[i]!.update(buf);
      if ((off + n) % p === 0 || off + n === size) {
        const d = partHashers[i]!.digest();
        parts[String(p)]!.push({ size: d.size, sha256: d.linearHash!, treeHash: d.treeHash });
        partHashers[i] = new TreeHasher({ linear: true });
      }
    });
    if (!out.write(buf)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  const d = whole.digest();
  const hashes: Hashes = { size, sha256: d.linearHash!, treeHash: d.treeHash, parts };
  writeFileSync(hashesFile, JSON.stringify(hashes));
  return { file, hashesFile, hashes };
}

// ------------------------------------------------------------------------------------------------
// The boto3 client (bench/glacier_client.py)

async function py(command: string, server: BenchServer, opts: Record<string, string | number>): Promise<any> {
  const argv = [join(ROOT, 'bench', 'glacier_client.py'), command, '--endpoint', server.url];
  // `--k=v`: archive ids may start with "-", which argparse would take for an option.
  for (const [k, v] of Object.entries(opts)) argv.push(`--${k}=${v}`);
  const proc = spawn(python(), argv, { env: { ...process.env, BENCH_KEY: KEY, BENCH_SECRET: SECRET }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const [code] = (await once(proc, 'exit')) as [number];
  if (code !== 0) throw new Error(`glacier_client.py ${command} against ${server.name} failed (${code}): ${err.slice(-2000)}`);
  return JSON.parse(out.trim().split('\n').pop()!);
}

/** Runs `fn` inside an RSS window of the server; returns fn's result and the peak RSS. */
async function measured<T>(server: BenchServer, fn: () => Promise<T>): Promise<{ result: T; rss: number }> {
  const s = new RssSampler(server.pid);
  s.begin();
  try {
    const result = await fn();
    return { result, rss: s.end() };
  } catch (e) {
    s.end();
    throw e;
  }
}

const both = (round: number): ('firn' | 'moto')[] => (round % 2 === 0 ? ['firn', 'moto'] : ['moto', 'firn']);

// ------------------------------------------------------------------------------------------------
// Workloads

function shaFigure(): void {
  console.error('openssl speed -evp sha256 (single core)');
  const out = execFileSync('openssl', ['speed', '-seconds', '2', '-evp', 'sha256'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const line = out.split('\n').find((l) => /^sha256\s/i.test(l) || /^SHA256\s/.test(l)) ?? out.split('\n').filter(Boolean).pop()!;
  notes.push(`openssl speed -seconds 2 -evp sha256 (one process): \`${line.trim().replace(/\s+/g, ' ')}\` (bytes/s in thousands for 16 B … 16 KiB blocks)`);
  const cols = line.trim().split(/\s+/).slice(1).map((v) => Number(v.replace(/k$/, '')) * 1000);
  if (cols.length) record({ table: 'sha', workload: 'openssl sha256, 16 KiB blocks, one core', server: 'firn', value: cols[cols.length - 1]! / MiB, unit: 'MiB/s' });
}

async function uploads(firnDir: string): Promise<void> {
  const files = {
    '1 MiB': await dataFile(MiB),
    '64 MiB': await dataFile(64 * MiB),
    '256 MiB': await dataFile(256 * MiB),
    '1 GiB': await dataFile(1024 * MiB),
  };
  const plan: { name: string; key: keyof typeof files; count: number; mode: 'precomputed' | 'client' }[] = [
    { name: '1 MiB × 32', key: '1 MiB', count: 32, mode: 'precomputed' },
    { name: '64 MiB × 3', key: '64 MiB', count: 3, mode: 'precomputed' },
    { name: '256 MiB', key: '256 MiB', count: 1, mode: 'precomputed' },
    { name: '256 MiB, boto3 hashing client-side', key: '256 MiB', count: 1, mode: 'client' },
    { name: '1 GiB', key: '1 GiB', count: 1, mode: 'precomputed' },
  ];
  // Both servers run at once and every item is measured on one, then at once on the other (the
  // order flips every time), so both see the same moment of a shared machine. The 256 MiB target
  // item is repeated PAIRS_256 times per round.
  const PAIRS_256 = 3;
  for (let round = 0; round < ROUNDS; round++) {
    console.error(`upload round ${round + 1}/${ROUNDS}`);
    const servers = { firn: await startFirn(firnDir), moto: await startMoto() };
    let flip = round % 2;
    try {
      for (const s of Object.values(servers)) await py('vault', s, {});
      const bigId: Record<string, string> = {};
      for (const p of plan) {
        for (let rep = 0; rep < (p.name === '256 MiB' ? PAIRS_256 : 1); rep++) {
          const pairId = `${p.name}#${round}.${rep}`;
          for (const which of (flip++ % 2 === 0 ? ['firn', 'moto'] : ['moto', 'firn']) as ('firn' | 'moto')[]) {
            const server = servers[which];
            const f = files[p.key];
            const { result, rss } = await measured(server, () => py('upload', server, { file: f.file, hashes: f.hashesFile, count: p.count, mode: p.mode }));
            const total = (result.times as number[]).reduce((a, b) => a + b, 0);
            record({ table: 'upload', workload: p.name, server: which, value: (f.hashes.size * p.count) / MiB / total, unit: 'MiB/s', rss, pair: pairId });
            if (p.key === '1 GiB') bigId[which] = result.archiveIds[0];
          }
        }
      }
      // GetJobOutput of the 1 GiB archive (issue #4 item 9). moto completes Expedited after 2 s.
      for (const which of (round % 2 === 0 ? ['firn', 'moto'] : ['moto', 'firn']) as ('firn' | 'moto')[]) {
        const server = servers[which];
        const { result, rss } = await measured(server, () => py('output', server, { 'archive-id': bigId[which]! }));
        if (result.bytes !== files['1 GiB'].hashes.size) throw new Error(`${which} GetJobOutput returned ${result.bytes} bytes`);
        record({ table: 'output', workload: 'GetJobOutput 1 GiB (boto3, streamed read)', server: which, value: result.bytes / MiB / result.times[0], unit: 'MiB/s', rss, pair: `out#${round}` });
      }
    } finally {
      await servers.firn.stop();
      await servers.moto.stop();
    }
  }
  notes.push(
    'Uploads: boto3 `upload_archive` from a file. "precomputed": both hashes are handed to botocore (checksum= and x-amz-content-sha256), so the figure is transfer + server work; "boto3 hashing client-side" is botocore as users run it, reading the body twice more before sending. Firn verifies the linear SHA-256 and the tree hash of every byte, fsyncs the file and the directory and commits SQLite (synchronous=FULL) before its 201; moto hashes (MD5 + SHA-256) and keeps the bytes in memory.',
  );
}

/** The issue #3 target alone: a 256 MiB single upload through boto3, many back-to-back pairs. */
async function target(firnDir: string): Promise<void> {
  const f = await dataFile(256 * MiB);
  const pairs = Number(flag('pairs', '8'));
  const servers = { firn: await startFirn(firnDir), moto: await startMoto() };
  try {
    for (const s of Object.values(servers)) await py('vault', s, {});
    for (let i = 0; i < pairs; i++) {
      for (const mode of ['precomputed', 'client'] as const) {
        for (const which of (i % 2 === 0 ? ['firn', 'moto'] : ['moto', 'firn']) as ('firn' | 'moto')[]) {
          const server = servers[which];
          const { result, rss } = await measured(server, () => py('upload', server, { file: f.file, hashes: f.hashesFile, count: 1, mode }));
          const name = mode === 'client' ? '256 MiB, boto3 hashing client-side' : '256 MiB';
          record({ table: 'target', workload: name, server: which, value: f.hashes.size / MiB / result.times[0], unit: 'MiB/s', rss, pair: `${name}#${i}` });
        }
      }
    }
  } finally {
    await servers.firn.stop();
    await servers.moto.stop();
  }
}

async function multipart(firnDir: string): Promise<void> {
  const part = 64 * MiB;
  const f = await dataFile(4096 * MiB, [part]);
  for (let round = 0; round < ROUNDS; round++) {
    console.error(`multipart round ${round + 1}/${ROUNDS}`);
    const server = await startFirn(firnDir);
    try {
      await py('vault', server, {});
      const { result, rss } = await measured(server, () => py('multipart', server, { file: f.file, hashes: f.hashesFile, 'part-size': part, threads: 2 }));
      if (!result.checksumOk) throw new Error('multipart: checksum mismatch');
      record({ table: 'upload', workload: 'multipart 4 GiB, 64 MiB parts, 2 in flight', server: 'firn', value: f.hashes.size / MiB / result.times[0], unit: 'MiB/s', rss });
    } finally {
      await server.stop();
    }
  }
  notes.push('moto_server has no multipart upload for Glacier (InitiateMultipartUpload answers an HTML 404), so the multipart row has no moto figure.');
}

/** Writes `n` archives straight into the SQLite metadata of a stopped server (no blobs: inventory reads metadata only). */
function seedArchives(dataDir: string, vaultName: string, n: number): void {
  const db = new Database(join(dataDir, 'meta.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  const vault = db.prepare('SELECT id FROM vaults WHERE name = ?').get(vaultName) as { id: number };
  const ins = db.prepare('INSERT INTO archives (vault_id, archive_id, size, tree_hash, description, created_at, blob_key) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const start = Date.now() - 30 * 86_400_000;
  let total = 0;
  const batch = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const created = start + i * 1000;
      const size = 1 + ((i * 2654435761) % (64 * MiB));
      total += size;
      const desc = i % 10 === 0 ? `file "${i}", with comma` : `seeded archive ${i}`;
      const treeHash = createHash('sha256').update(String(i)).digest('hex');
      ins.run(vault.id, encodeSortable(created, 9) + randomChars(129), size, treeHash, desc, created, 'seeded-no-blob');
    }
  });
  for (let i = 0; i < n; i += 10_000) batch(i, Math.min(n, i + 10_000));
  db.prepare('UPDATE vaults SET number_of_archives = number_of_archives + ?, size_in_bytes = size_in_bytes + ?, last_write_at = ? WHERE id = ?').run(n, total, Date.now(), vault.id);
  db.close();
}

async function inventory(firnDir: string): Promise<void> {
  // 1) Firn with INVENTORY_N archives seeded into SQLite (uploading a million archives would take hours).
  const dataDir = join(WORK, `inventory-${INVENTORY_N}`);
  const seededMark = join(dataDir, 'seeded.ok');
  if (!existsSync(seededMark)) {
    console.error(`seeding ${INVENTORY_N} archives`);
    const s = await startFirn(firnDir, {}, dataDir);
    await py('vault', s, { vault: 'inventory' });
    await s.stop();
    const t0 = Date.now();
    seedArchives(dataDir, 'inventory', INVENTORY_N);
    notes.push(`Seeded ${INVENTORY_N} archive rows into SQLite directly in ${((Date.now() - t0) / 1000).toFixed(1)} s (bench/run.ts seedArchives).`);
    writeFileSync(seededMark, '');
  }
  for (let round = 0; round < ROUNDS; round++) {
    console.error(`inventory round ${round + 1}/${ROUNDS}`);
    const server = await startFirn(firnDir, {}, dataDir);
    try {
      for (const format of ['JSON', 'CSV']) {
        const { result, rss } = await measured(server, () => py('inventory', server, { vault: 'inventory', format }));
        if (result.status !== 'Succeeded') throw new Error(`inventory ${format}: ${result.status}`);
        record({ table: 'inventory', workload: `${INVENTORY_N} archives, ${format}: produce (Initiate → Succeeded)`, server: 'firn', value: result.produce, unit: 's', rss, pair: `inv-produce#${round}` });
        record({ table: 'inventory', workload: `${INVENTORY_N} archives, ${format}: download (${(result.bytes / 1e6).toFixed(0)} MB)`, server: 'firn', value: result.download, unit: 's' });
      }
    } finally {
      await server.stop();
    }
  }
  // 2) Side by side at 10,000 archives uploaded through the API (moto keeps everything in memory
  //    and can only be filled through the API).
  const small = 5_000;
  for (let round = 0; round < ROUNDS; round++) {
    console.error(`inventory (${small}, side by side) round ${round + 1}/${ROUNDS}`);
    for (const which of both(round)) {
      const server = which === 'firn' ? await startFirn(firnDir) : await startMoto();
      try {
        await py('vault', server, {});
        await py('seed', server, { count: small });
        const { result, rss } = await measured(server, () => py('inventory', server, { format: 'JSON' }));
        if (result.status !== 'Succeeded') throw new Error(`${which} inventory: ${result.status}`);
        record({ table: 'inventory-small', workload: `${small} archives, JSON: Initiate → Succeeded`, server: which, value: result.produce, unit: 's', rss, pair: `inv-produce#${round}` });
        record({ table: 'inventory-small', workload: `${small} archives, JSON: GetJobOutput`, server: which, value: result.download, unit: 's', pair: `inv-download#${round}` });
      } finally {
        await server.stop();
      }
    }
  }
  notes.push('moto completes every job after a fixed delay (Standard: 5 s) and builds the inventory inside GetJobOutput, from memory; it ignores Format (always JSON). So its "Initiate → Succeeded" row is that fixed delay, and the GetJobOutput row is where moto does the work.');
}

async function rates(firnDir: string): Promise<void> {
  const seconds = 5;
  const concurrency = 8;
  for (let round = 0; round < ROUNDS; round++) {
    console.error(`request rates round ${round + 1}/${ROUNDS}`);
    for (const which of both(round)) {
      const server = which === 'firn' ? await startFirn(firnDir) : await startMoto();
      try {
        const g = new RawGlacier(server.url, 'rates');
        await g.createVault();
        const up = await g.uploadArchive(randomBytes(1024), 'rates');
        const archiveId = String(up.headers['x-amz-archive-id']);
        const jobIds: string[] = [];
        const run = async (op: () => Promise<boolean>) => {
          let n = 0;
          const until = Date.now() + seconds * 1000;
          await Promise.all(
            Array.from({ length: concurrency }, async () => {
              while (Date.now() < until) if (await op()) n++;
            }),
          );
          return n / seconds;
        };
        let r = await measured(server, () =>
          run(async () => {
            const res = await g.initiateJob({ Type: 'archive-retrieval', ArchiveId: archiveId, Tier: 'Expedited' });
            if (res.status !== 202) throw new Error(`${which} InitiateJob: ${res.status} ${res.body.toString().slice(0, 200)}`);
            jobIds.push(String(res.headers['x-amz-job-id']));
            return true;
          }),
        );
        record({ table: 'rates', workload: `InitiateJob (archive retrieval), ${concurrency} concurrent`, server: which, value: r.result, unit: 'req/s', rss: r.rss, pair: `initiate#${round}` });
        let i = 0;
        r = await measured(server, () =>
          run(async () => {
            const res = await g.describeJob(jobIds[i++ % jobIds.length]!);
            if (res.status !== 200) throw new Error(`${which} DescribeJob: ${res.status}`);
            return true;
          }),
        );
        record({ table: 'rates', workload: `DescribeJob, ${concurrency} concurrent`, server: which, value: r.result, unit: 'req/s', rss: r.rss, pair: `describe#${round}` });
      } finally {
        await server.stop();
      }
    }
  }
  notes.push(`Request rates: a Node client (test/helpers/glacier-raw.ts, SigV4 by @smithy/signature-v4) with ${concurrency} requests in flight for ${seconds} s; the client shares the 2 cores with the server, so Firn's figure is partly client-bound.`);
}

// ------------------------------------------------------------------------------------------------

function report(meta: Record<string, string>): string {
  const lines: string[] = [];
  const shape = workloads.length === 1 && workloads[0] === 'target' ? `${flag('pairs', '8')} back-to-back pairs` : `${meta.rounds} interleaved rounds`;
  lines.push(`Run ${meta.date}; ${meta.machine}; Firn ${meta.commit} (${meta.build}); ${shape}: median (min–max).`, '');
  const groups = new Map<string, Sample[]>();
  for (const s of samples) {
    const k = `${s.table}\u0000${s.workload}`;
    groups.set(k, [...(groups.get(k) ?? []), s]);
  }
  /** `a` and `b` are the two servers compared; the ratio is a / b (b / a in time when lower is better). */
  const tableOf = (table: string, title: string, higherIsBetter: boolean, [a, b, aName, bName] = ['firn', 'moto', 'Firn', 'moto']) => {
    const rows = [...groups.entries()].filter(([k]) => k.startsWith(table + '\u0000'));
    if (!rows.length) return;
    // A table whose rows have different units names the unit in every cell.
    const mixed = new Set(rows.map(([, ss]) => ss[0]!.unit)).size > 1;
    const unit = mixed ? '' : rows[0]![1][0]!.unit;
    lines.push(`**${title}**`, '', `| workload | ${aName} ${unit} | ${aName} peak RSS | ${bName} ${unit} | ${bName} peak RSS | ${aName} / ${bName} |`, '|---|---:|---:|---:|---:|---:|');
    for (const [k, ss] of rows) {
      const higher = ss[0]!.lowerIsBetter ? false : higherIsBetter;
      const cellUnit = mixed ? ` ${ss[0]!.unit}` : '';
      const f = ss.filter((s) => s.server === a);
      const m = ss.filter((s) => s.server === b);
      const fv = f.length ? median(f.map((s) => s.value)) : NaN;
      const mv = m.length ? median(m.map((s) => s.value)) : NaN;
      const rss = (xs: Sample[]) => (xs.some((s) => s.rss) ? `${mb(Math.max(...xs.map((s) => s.rss ?? 0)))} MB` : '–');
      const num = (v: number) => (v < 10 ? v.toFixed(2) : v.toFixed(0));
      const fmtOf = (xs: Sample[]) => (v: number) => {
        if (Number.isNaN(v)) return 'n/a';
        if (xs.length < 2) return num(v) + cellUnit;
        const vs = xs.map((s) => s.value);
        return `${num(v)}${cellUnit} (${num(Math.min(...vs))}–${num(Math.max(...vs))})`;
      };
      // With pairs (taken back to back), the ratio is the median of the per-pair ratios, which
      // cancels most of the shared machine's drift; otherwise the ratio of the medians.
      const pairs = f.filter((x) => x.pair && m.some((y) => y.pair === x.pair)).map((x) => {
        const y = m.find((z) => z.pair === x.pair)!;
        return higher ? x.value / y.value : y.value / x.value;
      });
      const ratio = pairs.length
        ? `${median(pairs).toFixed(2)}× (${Math.min(...pairs).toFixed(2)}–${Math.max(...pairs).toFixed(2)}, ${pairs.length} pairs)`
        : Number.isNaN(fv) || Number.isNaN(mv)
          ? '–'
          : `${(higher ? fv / mv : mv / fv).toFixed(2)}×`;
      lines.push(`| ${k.split('\u0000')[1]} | ${fmtOf(f)(fv)} | ${rss(f)} | ${fmtOf(m)(mv)} | ${m.length ? rss(m) : '–'} | ${ratio} |`);
    }
    lines.push('');
  };
  tableOf('sha', 'Hashing reference', true);
  tableOf('target', 'Issue #3 target: 256 MiB single upload through boto3, back-to-back pairs', true);
  tableOf('upload', 'Uploads (boto3, MiB/s; peak RSS is the max over rounds)', true);
  tableOf('output', 'GetJobOutput', true);
  tableOf('inventory', 'Inventory, Firn only (seconds; lower is better)', false);
  tableOf('inventory-small', 'Inventory side by side (seconds; ratio = moto time / Firn time)', false);
  tableOf('rates', 'Request rates', true);
  tableOf('small', 'Small uploads and small requests (ratio = Firn / moto, or moto ms / Firn ms for the 1 KiB row; median of back-to-back pairs)', true);
  const backends: [string, string, string, string] = ['pg', 'embedded', 'PG', 'embedded'];
  tableOf('backends', 'Embedded (SQLite) vs PostgreSQL metadata: rates (ratio = PG / embedded, median of back-to-back pairs)', true, backends);
  tableOf('backends-inventory', 'Embedded vs PostgreSQL: inventory (seconds; ratio = embedded time / PG time, so < 1 means PG is slower)', false, backends);
  if (notes.length) lines.push(...notes.map((n) => `- ${n}`), '');
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { dir, commit } = prepareFirn(SRC);
  const meta = {
    date: new Date().toISOString(),
    machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}, moto ${execFileSync(python(), ['-c', 'import moto; print(moto.__version__)'], { encoding: 'utf8' }).trim()}, shared with other engineers' test runs`,
    commit,
    build: SRC === 'head' ? 'committed HEAD, tsc → dist, node bin/firn.js serve' : SRC === 'tree' ? 'working tree, tsc → dist' : `build in ${SRC}`,
    rounds: String(ROUNDS),
  };
  console.error(`Firn ${commit} from ${dir}`);
  if (want('sha')) shaFigure();
  if (want('upload') || want('output')) await uploads(dir);
  if (workloads.includes('target')) await target(dir);
  if (want('multipart')) await multipart(dir);
  if (want('inventory')) await inventory(dir);
  if (want('rates')) await rates(dir);
  // What the workloads in their own files (backends, cluster, small) take from this one.
  const deps = { firnDir: dir, rounds: ROUNDS, quick: args.includes('--quick'), work: WORK, py, dataFile, measured, record, notes, log: (m: string) => console.error(m) };
  // Not part of `all`: it needs PostgreSQL (scripts/postgres.sh).
  if (workloads.includes('backends')) await backendsBench({ ...deps, archives: INVENTORY_N });
  // Not part of `all`: it needs PostgreSQL and radosgw (scripts/postgres.sh, scripts/radosgw.sh).
  if (workloads.includes('cluster')) extraSections.push(...(await clusterBench(deps)));
  // Not part of `all`: it needs wrk (apt-get install -y wrk).
  if (workloads.includes('small')) await smallBench({ ...deps, pairs: Number(flag('small-pairs', '2')) });
  if (want('transfer')) {
    const f = await dataFile(Number(flag('transfer-mib', '1024')) * MiB);
    const t = await transferBench({ firnDir: dir, file: f.file, rounds: ROUNDS, work: WORK, log: (m) => console.error(m) });
    extraSections.push(...t.lines);
  }
  const md = report(meta) + '\n' + extraSections.join('\n');
  const out = join(WORK, `results-${meta.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(out, JSON.stringify({ meta, samples, notes }, null, 2));
  process.stdout.write(md + '\n');
  console.error(`raw samples: ${out}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
