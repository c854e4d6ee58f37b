/**
 * Measures the job system at scale against a server running as a child process (not part of
 * `npm test`). Reports the server's peak RSS (VmHWM) after each phase:
 *   1. GetJobOutput of an M MiB archive, whole and in 4 MiB ranges (bytes counted, not kept);
 *   2. inventory generation for a vault of N archives (rows inserted straight into SQLite), JSON
 *      and CSV, then the download of the JSON output.
 *
 *   node --import tsx scripts/measure-jobs.ts [archives=1000000] [archiveMiB=1024]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import Database from 'better-sqlite3';
import { SignatureV4 } from '@smithy/signature-v4';
import { HttpRequest } from '@smithy/protocol-http';
import { Sha256 } from '@aws-crypto/sha256-js';
import { ChildServer, readRss } from '../test/helpers/child-server.js';
import { RawGlacier, seededBytes } from '../test/helpers/glacier-raw.js';
import { TEST_KEY, TEST_SECRET } from '../test/helpers/server.js';
import { MiB, TreeHasher } from '../src/domain/treehash.js';

const N = Number(process.argv[2] ?? 1_000_000);
const ARCHIVE_MIB = Number(process.argv[3] ?? 1024);
const mb = (n: number) => `${(n / MiB).toFixed(0)} MiB`;

const dataDir = mkdtempSync(join(tmpdir(), 'firn-measure-'));
const server = new ChildServer({ dataDir, env: { FIRN_LOG_LEVEL: 'warn' } });
const hwm = () => mb(readRss(server.pid)!.hwm);

/** GET that counts the body and keeps nothing. */
async function download(path: string, range?: string): Promise<number> {
  const u = new URL(server.url);
  const signer = new SignatureV4({ credentials: { accessKeyId: TEST_KEY, secretAccessKey: TEST_SECRET }, region: 'us-east-1', service: 'glacier', sha256: Sha256, uriEscapePath: true });
  const headers = { host: u.host, 'x-amz-glacier-version': '2012-06-01', ...(range ? { range } : {}) };
  const signed = await signer.sign(new HttpRequest({ method: 'GET', protocol: 'http:', hostname: u.hostname, port: Number(u.port), path, headers }));
  return new Promise((resolve, reject) => {
    request({ host: u.hostname, port: u.port, path, headers: signed.headers as Record<string, string>, agent: false }, (res) => {
      let n = 0;
      res.on('data', (c: Buffer) => (n += c.length));
      res.on('end', () => resolve(n));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

try {
  await server.start();
  console.log(`server started: peak RSS ${hwm()}`);
  const g = new RawGlacier(server.url, 'measure');
  await g.createVault();

  // 1. A large archive, uploaded in one request, retrieved whole and in 4 MiB ranges.
  const hasher = new TreeHasher({ linear: true });
  const parts: Buffer[] = [];
  for (let i = 0; i < ARCHIVE_MIB; i += 64) {
    const b = seededBytes(`big${i}`, Math.min(64, ARCHIVE_MIB - i) * MiB);
    hasher.update(b);
    parts.push(b);
  }
  const { treeHash, linearHash } = hasher.digest();
  const up = await g.uploadArchive(Buffer.concat(parts), 'big', { treeHash, sha256: linearHash! });
  parts.length = 0;
  if (up.status !== 201) throw new Error(`upload: ${up.status} ${up.body}`);
  console.log(`uploaded ${ARCHIVE_MIB} MiB: peak RSS ${hwm()}`);
  const job = String((await g.initiateJob({ Type: 'archive-retrieval', ArchiveId: String(up.headers['x-amz-archive-id']) })).headers['x-amz-job-id']);
  await g.waitJob(job);
  const out = `/-/vaults/measure/jobs/${job}/output`;
  let t = Date.now();
  let n = await download(out);
  let ms = Date.now() - t;
  console.log(`GetJobOutput whole: ${mb(n)} in ${ms} ms (${Math.round(n / MiB / (ms / 1000))} MiB/s); peak RSS ${hwm()}`);
  t = Date.now();
  n = 0;
  for (let off = 0; off < ARCHIVE_MIB * MiB; off += 4 * MiB) n += await download(out, `bytes=${off}-${off + 4 * MiB - 1}`);
  ms = Date.now() - t;
  console.log(`GetJobOutput in 4 MiB ranges: ${mb(n)} in ${ms} ms (${Math.round(n / MiB / (ms / 1000))} MiB/s); peak RSS ${hwm()}`);

  // 2. Inventory of N archives (inserted into the server's database behind its back).
  const db = new Database(join(dataDir, 'meta.db'));
  db.pragma('busy_timeout = 10000');
  const vaultId = (db.prepare("SELECT id FROM vaults WHERE name = 'measure'").get() as { id: number }).id;
  const ins = db.prepare('INSERT INTO archives (vault_id, archive_id, size, tree_hash, description, created_at, blob_key) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const base = Date.UTC(2024, 0, 1);
  db.transaction(() => {
    for (let i = 0; i < N; i++) {
      ins.run(vaultId, `A${String(i).padStart(12, '0')}`.padEnd(138, 'x'), 1000 + i, 'f'.repeat(64), `backup "${i}", part ${i % 7}`, base + i * 1000, `none-${i}`);
    }
  })();
  db.close();
  for (const format of ['CSV', 'JSON']) {
    t = Date.now();
    const id = String((await g.initiateJob({ Type: 'inventory-retrieval', Format: format })).headers['x-amz-job-id']);
    const d = await g.waitJob(id, 600_000);
    ms = Date.now() - t;
    console.log(
      `inventory ${format}: ${N + 1} archives, ${d.StatusCode}, ${mb(d.InventorySizeInBytes)} in ${ms} ms (${Math.round(N / (ms / 1000))} archives/s); peak RSS ${hwm()}`,
    );
    if (format === 'JSON') {
      t = Date.now();
      n = await download(`/-/vaults/measure/jobs/${id}/output`);
      console.log(`GetJobOutput of the JSON inventory: ${mb(n)} in ${Date.now() - t} ms; peak RSS ${hwm()}`);
    }
  }
} finally {
  await server.kill();
  rmSync(dataDir, { recursive: true, force: true });
}
