/**
 * Embedded (SQLite) vs PostgreSQL metadata, side by side in one run (issue "Scale-out I"):
 * `npm run bench -- backends [--rounds N] [--archives N] [--quick]`.
 *
 * Two Firn servers run as child processes, each with its own data dir; one has FIRN_METADATA_URL
 * pointing at a fresh database from scripts/postgres.sh (dropped at the end, also on failure).
 * Every workload runs on both back to back (order flipped every pair), and run.ts reports the
 * ratio PG / embedded as the median of the pairs. Inventory needs a million archives: they are
 * seeded straight into each store's tables (the same rows in both) after the vault is created
 * through the API, with the server stopped, so no server cache can disagree with the tables.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import pg from 'pg';
import { startFirn, ROOT, type BenchServer } from './servers.js';
import { RawGlacier } from '../test/helpers/glacier-raw.js';

export type Backend = 'pg' | 'embedded';

export interface BackendsDeps {
  firnDir: string;
  rounds: number;
  archives: number;
  quick: boolean;
  work: string;
  /** bench/glacier_client.py through run.ts (the client of the upload benches). */
  py(command: string, server: BenchServer, opts: Record<string, string | number>): Promise<any>;
  dataFile(size: number): Promise<{ file: string; hashesFile: string; hashes: { size: number } }>;
  measured<T>(server: BenchServer, fn: () => Promise<T>): Promise<{ result: T; rss: number }>;
  record(s: { table: string; workload: string; server: Backend; value: number; unit: string; rss?: number; pair?: string }): void;
  notes: string[];
  log(m: string): void;
}

const MiB = 1024 * 1024;
const order = (i: number): Backend[] => (i % 2 === 0 ? ['embedded', 'pg'] : ['pg', 'embedded']);

/**
 * Row i of the seeded vault, the same in both stores (the PG seed computes it in SQL): 138-char
 * archive id, time-ordered like real ids; sizes spread up to 64 MiB; a tenth of the descriptions
 * need CSV quoting. No blobs: an inventory reads metadata only.
 */
const seedStart = Date.UTC(2026, 0, 1);
const seedRow = (i: number) => ({
  archiveId: `S${String(i).padStart(9, '0')}${createHash('md5').update(String(i)).digest('hex').repeat(4)}`,
  size: 1 + ((i * 2654435761) % (64 * MiB)),
  treeHash: createHash('sha256').update(String(i)).digest('hex'),
  description: i % 10 === 0 ? `file "${i}", with comma` : `seeded archive ${i}`,
  createdAt: seedStart + i * 1000,
});

function seedSqlite(dataDir: string, vaultName: string, n: number): void {
  const db = new Database(join(dataDir, 'meta.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  const vault = db.prepare('SELECT id FROM vaults WHERE name = ?').get(vaultName) as { id: number };
  const ins = db.prepare('INSERT INTO archives (vault_id, archive_id, size, tree_hash, description, created_at, blob_key) VALUES (?, ?, ?, ?, ?, ?, ?)');
  let total = 0;
  const batch = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const r = seedRow(i);
      total += r.size;
      ins.run(vault.id, r.archiveId, r.size, r.treeHash, r.description, r.createdAt, 'seeded-no-blob');
    }
  });
  for (let i = 0; i < n; i += 50_000) batch(i, Math.min(n, i + 50_000));
  db.prepare('UPDATE vaults SET number_of_archives = number_of_archives + ?, size_in_bytes = size_in_bytes + ?, last_write_at = ? WHERE id = ?').run(n, total, Date.now(), vault.id);
  db.close();
}

async function seedPg(url: string, vaultName: string, n: number): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query('SELECT id FROM vaults WHERE name = $1', [vaultName]);
    const vaultId = rows[0].id as string;
    // Same formulas as seedRow.
    await c.query('BEGIN');
    await c.query(
      `INSERT INTO archives (vault_id, archive_id, size, tree_hash, description, created_at, blob_key)
       SELECT $1, 'S' || lpad(i::text, 9, '0') || repeat(md5(i::text), 4),
              1 + (i::bigint * 2654435761) % ${64 * MiB}, encode(sha256(i::text::bytea), 'hex'),
              CASE WHEN i % 10 = 0 THEN 'file "' || i || '", with comma' ELSE 'seeded archive ' || i END,
              $2::bigint + i::bigint * 1000, 'seeded-no-blob'
       FROM generate_series(0, $3::int - 1) AS i`,
      [vaultId, seedStart, n],
    );
    await c.query(
      `UPDATE vaults SET number_of_archives = number_of_archives + $2,
              size_in_bytes = size_in_bytes + (SELECT SUM(size) FROM archives WHERE vault_id = $1), last_write_at = $3
       WHERE id = $1`,
      [vaultId, n, Date.now()],
    );
    await c.query('COMMIT');
    await c.query('ANALYZE archives');
  } finally {
    await c.end();
  }
}

/** Requests per second of `op`, `concurrency` in flight for `seconds`. */
export async function rate(seconds: number, concurrency: number, op: () => Promise<void>): Promise<number> {
  let n = 0;
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        await op();
        n++;
      }
    }),
  );
  return n / ((performance.now() - t0) / 1000);
}

export async function backendsBench(d: BackendsDeps): Promise<void> {
  const state = join(d.work, `pg-backends-${process.pid}`);
  const dirs: Record<Backend, string> = { embedded: join(d.work, `backends-embedded-${process.pid}`), pg: join(d.work, `backends-pg-${process.pid}`) };
  const running: BenchServer[] = [];
  const stopAll = async () => {
    while (running.length) await running.pop()!.stop();
  };
  try {
    for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
    const url = execFileSync(join(ROOT, 'scripts', 'postgres.sh'), ['start', state], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
    // Jobs of the InitiateJob rate wait a day, so only the initiation is measured; inventory jobs are due at once.
    const env: Record<Backend, Record<string, string>> = {
      embedded: { FIRN_RETRIEVAL_TIMING: 'instant', FIRN_TIMING_EXPEDITED: '24h' },
      pg: { FIRN_RETRIEVAL_TIMING: 'instant', FIRN_TIMING_EXPEDITED: '24h', FIRN_METADATA_URL: url },
    };
    const start = (b: Backend) => startFirn(d.firnDir, env[b], dirs[b]);
    // 1) Request rates and small uploads, both servers up at once.
    const uploads = d.quick ? 8 : 32;
    const seconds = d.quick ? 1 : 3;
    const concurrency = 8;
    const oneMiB = await d.dataFile(MiB);
    const servers = { embedded: await start('embedded'), pg: await start('pg') };
    running.push(servers.embedded, servers.pg);
    const archiveIds = {} as Record<Backend, string>;
    for (const b of ['embedded', 'pg'] as Backend[]) {
      const g = new RawGlacier(servers[b].url, 'bench');
      await g.createVault();
      const up = await g.uploadArchive(Buffer.from('retrieve me'), 'retrieval target');
      if (up.status !== 201) throw new Error(`${b} UploadArchive: ${up.status}`);
      archiveIds[b] = String(up.headers['x-amz-archive-id']);
    }
    const describeVault = (b: Backend) => {
      const g = new RawGlacier(servers[b].url, 'bench');
      return async () => {
        const r = await g.req('GET', '');
        if (r.status !== 200) throw new Error(`${b} DescribeVault: ${r.status}`);
      };
    };
    const initiateJob = (b: Backend) => {
      const g = new RawGlacier(servers[b].url, 'bench');
      return async () => {
        const r = await g.initiateJob({ Type: 'archive-retrieval', ArchiveId: archiveIds[b], Tier: 'Expedited' });
        if (r.status !== 202) throw new Error(`${b} InitiateJob: ${r.status} ${r.body.toString().slice(0, 200)}`);
      };
    };
    // Warm-up, not recorded: the first second of a fresh server runs unoptimised code (JIT).
    for (const b of ['embedded', 'pg'] as Backend[]) {
      await d.py('upload', servers[b], { file: oneMiB.file, hashes: oneMiB.hashesFile, count: 4, mode: 'precomputed' });
      await rate(1, concurrency, initiateJob(b));
      await rate(1, concurrency, describeVault(b));
    }
    let flip = 0;
    for (let round = 0; round < d.rounds; round++) {
      d.log(`backends round ${round + 1}/${d.rounds}: uploads, InitiateJob, DescribeVault`);
      for (const b of order(flip++)) {
        const s = servers[b];
        const { result, rss } = await d.measured(s, () => d.py('upload', s, { file: oneMiB.file, hashes: oneMiB.hashesFile, count: uploads, mode: 'precomputed' }));
        const total = (result.times as number[]).reduce((a, x) => a + x, 0);
        d.record({ table: 'backends', workload: `UploadArchive 1 MiB × ${uploads}, sequential (boto3)`, server: b, value: uploads / total, unit: 'req/s', rss, pair: `up#${round}` });
      }
      for (const b of order(flip++)) {
        const { result, rss } = await d.measured(servers[b], () => rate(seconds, concurrency, initiateJob(b)));
        d.record({ table: 'backends', workload: `InitiateJob (archive retrieval), ${concurrency} in flight`, server: b, value: result, unit: 'req/s', rss, pair: `init#${round}` });
      }
      for (const b of order(flip++)) {
        const { result, rss } = await d.measured(servers[b], () => rate(seconds, concurrency, describeVault(b)));
        d.record({ table: 'backends', workload: `DescribeVault, ${concurrency} in flight`, server: b, value: result, unit: 'req/s', rss, pair: `dv#${round}` });
      }
    }
    await stopAll();

    // 2) Inventory of `archives` archives: vault created through the API, rows seeded directly.
    for (const b of ['embedded', 'pg'] as Backend[]) {
      const s = await start(b);
      running.push(s);
      const r = await new RawGlacier(s.url, 'inventory').createVault();
      if (r.status !== 201) throw new Error(`${b} CreateVault: ${r.status}`);
      await stopAll();
      const t0 = performance.now();
      if (b === 'embedded') seedSqlite(dirs.embedded, 'inventory', d.archives);
      else await seedPg(url, 'inventory', d.archives);
      d.notes.push(`Seeded ${d.archives} archive rows into ${b === 'pg' ? 'PostgreSQL (one INSERT … SELECT generate_series, then ANALYZE)' : 'SQLite (prepared inserts, 50,000 per transaction)'} in ${((performance.now() - t0) / 1000).toFixed(1)} s.`);
    }
    const inventoryBytes = new Set<number>();
    for (let round = 0; round < d.rounds; round++) {
      d.log(`backends round ${round + 1}/${d.rounds}: inventory of ${d.archives} archives`);
      for (const b of order(round)) {
        // A fresh process per measurement, so the peak RSS is the inventory's and not a leftover.
        const s = await start(b);
        running.push(s);
        const { result, rss } = await d.measured(s, () => d.py('inventory', s, { vault: 'inventory', format: 'JSON' }));
        await stopAll();
        if (result.status !== 'Succeeded') throw new Error(`${b} inventory: ${result.status}`);
        // The same rows in both stores give outputs of the same length (ids, sizes, dates are fixed-width or equal).
        inventoryBytes.add(result.bytes);
        if (inventoryBytes.size > 1) throw new Error(`the two stores' inventories differ in size: ${[...inventoryBytes].join(' vs ')} bytes`);
        const mb = (result.bytes / 1e6).toFixed(0);
        d.record({ table: 'backends-inventory', workload: `${d.archives} archives, JSON: InitiateJob → downloaded (${mb} MB)`, server: b, value: result.produce + result.download, unit: 's', rss, pair: `inv#${round}` });
        d.record({ table: 'backends-inventory', workload: `… of which InitiateJob → Succeeded`, server: b, value: result.produce, unit: 's', pair: `invp#${round}` });
        d.record({ table: 'backends-inventory', workload: `… of which GetJobOutput`, server: b, value: result.download, unit: 's', pair: `invd#${round}` });
      }
    }
    d.notes.push(
      `Backends: both servers are this build with FIRN_RETRIEVAL_TIMING=instant, one with FIRN_METADATA_URL (PostgreSQL ${pgVersion(url)} on the same machine, via scripts/postgres.sh); blobs on the local disk for both. UploadArchive: boto3, ${uploads} sequential 1 MiB uploads per sample, hashes precomputed. InitiateJob and DescribeVault: a Node client (test/helpers/glacier-raw.ts, SigV4) with ${concurrency} requests in flight for ${seconds} s, sharing the 2 cores with the servers and PostgreSQL; retrieval jobs are due after 24 h (FIRN_TIMING_EXPEDITED), so only the initiation is measured. Inventory: boto3 InitiateJob, DescribeJob polled every 20 ms, GetJobOutput drained; peak RSS of a freshly started server over that window.`,
    );
  } finally {
    await stopAll();
    try {
      // `stop` of a state dir that `start` never made (it failed early) does nothing.
      execFileSync(join(ROOT, 'scripts', 'postgres.sh'), ['stop', state], { stdio: ['ignore', 'ignore', 'inherit'] });
    } finally {
      for (const dir of Object.values(dirs)) rmSync(dir, { recursive: true, force: true });
    }
  }
}

function pgVersion(url: string): string {
  try {
    return execFileSync('psql', ['-X', '-At', url, '-c', 'SHOW server_version'], { encoding: 'utf8' }).trim().split(' ')[0]!;
  } catch {
    return '?';
  }
}
