#!/usr/bin/env node
// Runs the whole test suite: a type check of src/ and test/, then every test/**/*.test.ts file
// through node's built-in test runner (Node 20's --test has no glob support, so files are listed
// here) — and the API and end-to-end files a second time with the metadata in PostgreSQL
// (FIRN_TEST_METADATA=postgres), all in one run with one summary.
//
// The PostgreSQL pass uses the database FIRN_TEST_METADATA_URL names, or a fresh one that
// scripts/postgres.sh makes (starting the server if it is down) and drops afterwards. Likewise the
// S3 tests use the server FIRN_TEST_S3_ENDPOINT names, or a radosgw that scripts/radosgw.sh runs.
// FIRN_TEST_POSTGRES=0 leaves that pass out. Arguments filter files by substring.
import { spawnSync, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = new URL('..', import.meta.url).pathname;
const only = process.argv.slice(2).filter((a) => a !== '--');

// API and e2e files that are about the embedded backend itself (the SQLite file, the data
// directory's backup, the package's default start) and so have no PostgreSQL variant; files
// about PostgreSQL already run against it.
const EMBEDDED_ONLY = ['test/e2e/backup.test.ts', 'test/e2e/disk-full.test.ts', 'test/e2e/package.test.ts', 'test/e2e/readme.test.ts'];

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.test.json')], { stdio: 'inherit' });
if (tsc.status !== 0) {
  console.error('type check failed');
  process.exit(tsc.status ?? 1);
}

const all = find(join(root, 'test')).sort();
const selected = all.filter((f) => only.length === 0 || only.some((o) => f.includes(o)));
const pgCandidates = all.filter((f) => {
  const rel = relative(root, f);
  return (rel.startsWith('test/api/') || rel.startsWith('test/e2e/')) && !EMBEDDED_ONLY.includes(rel) && !rel.includes('postgres');
});
const pgSelected = process.env.FIRN_TEST_POSTGRES === '0' ? [] : pgCandidates.filter((f) => only.length === 0 || only.some((o) => `pg:${f}`.includes(o)));

const cleanups = [];
const env = { ...process.env };
const files = [...selected];

// Files that need an S3 server share one radosgw for the run (each would otherwise start its own,
// ≈ 15 s): the one FIRN_TEST_S3_ENDPOINT names, or one scripts/radosgw.sh starts now and stops at the end.
const S3_FILES = ['test/conformance/blobstore-s3.test.ts', 'test/api/s3-blobs.test.ts', 'test/e2e/cluster.test.ts'];
if (!env.FIRN_TEST_S3_ENDPOINT && selected.some((f) => S3_FILES.includes(relative(root, f)))) {
  const state = mkdtempSync(join(tmpdir(), 'firn-test-rgw-'));
  const out = execFileSync(join(root, 'scripts/radosgw.sh'), ['start', join(state, 's')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  for (const line of out.trim().split('\n')) {
    const i = line.indexOf('=');
    env[line.slice(0, i).replace(/^FIRN_/, 'FIRN_TEST_')] = line.slice(i + 1);
  }
  cleanups.push(() => {
    spawnSync(join(root, 'scripts/radosgw.sh'), ['stop', join(state, 's')], { stdio: 'ignore' });
    rmSync(state, { recursive: true, force: true });
  });
}
if (pgSelected.length > 0) {
  if (!env.FIRN_TEST_METADATA_URL) {
    const state = mkdtempSync(join(tmpdir(), 'firn-test-pg-'));
    env.FIRN_TEST_METADATA_URL = execFileSync(join(root, 'scripts/postgres.sh'), ['start', join(state, 's')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
    cleanups.push(() => {
      spawnSync(join(root, 'scripts/postgres.sh'), ['stop', join(state, 's')], { stdio: 'inherit' });
      rmSync(state, { recursive: true, force: true });
    });
  }
  // One wrapper per file, so that the PostgreSQL pass shares the run (and its summary): it sets
  // the backend for its own test process, then loads the real file.
  const wrappers = mkdtempSync(join(tmpdir(), 'firn-test-pg-files-'));
  cleanups.push(() => rmSync(wrappers, { recursive: true, force: true }));
  for (const f of pgSelected) {
    // .mts: the temp directory has no package.json saying "type": "module".
    const w = join(wrappers, 'pg', relative(join(root, 'test'), f)).replace(/\.ts$/, '.mts');
    mkdirSync(join(w, '..'), { recursive: true });
    writeFileSync(w, `process.env.FIRN_TEST_METADATA = 'postgres';\nawait import(${JSON.stringify(pathToFileURL(f).href)});\n`);
    files.push(w);
  }
}

let status = 1;
try {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=300000', ...files], {
    stdio: 'inherit',
    cwd: root,
    env,
  });
  status = r.status ?? 1;
} finally {
  for (const c of cleanups.reverse()) c();
}
process.exit(status);
