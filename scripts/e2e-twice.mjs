#!/usr/bin/env node
// Runs the whole end-to-end suite twice against the same servers, without restarting them, and
// fails if any test's result differs between the two runs (or any test fails).
//
//   npm run e2e:twice              # every test/e2e file
//   npm run e2e:twice -- vaults    # only files whose path contains "vaults"
//   npm run e2e:twice -- --keep    # keep the servers' data directories and logs afterwards
//   npm run e2e:twice -- --same-accounts   # run 2 reuses each test file's run-1 account (see below)
//
// With FIRN_E2E_SHARED set, startTestServer (test/helpers/server.ts) gives each test file a new
// account on a long-lived `firn serve` process, one per test configuration, started by the first
// file that needs it (test/helpers/shared-server.ts). The second run uses the same processes:
// this script checks that every server of the first run is still the same pid, alive, at the end.
// With --same-accounts, each test file gets in run 2 the account it had in run 1, with what it
// left there; the suite's files are not written to be repeated in one account (a completed vault
// lock is permanent, for one), so expect fixture failures there, not only server bugs.
// Tests that drive their own server processes (crash tests, restarts, signals) or use the app's
// internals (`ownServer: true`) run as usual in both runs; the summary counts them apart.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2).filter((a) => a !== '--');
const keep = args.includes('--keep');
const sameAccounts = args.includes('--same-accounts');
const only = args.filter((a) => !a.startsWith('--'));
const files = readdirSync(join(root, 'test/e2e'))
  .filter((f) => f.endsWith('.test.ts'))
  .map((f) => join(root, 'test/e2e', f))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
const stateDir = mkdtempSync(join(tmpdir(), 'firn-e2e-twice-'));
const reporter = join(root, 'scripts/e2e-results-reporter.mjs');

function runSuite(n) {
  const out = join(stateDir, `results-${n}.jsonl`);
  console.log(`\n=== run ${n} of 2 (shared servers in ${stateDir}) ===\n`);
  const started = Date.now();
  spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=300000', '--test-reporter=spec', '--test-reporter-destination=stdout', `--test-reporter=${reporter}`, `--test-reporter-destination=${out}`, ...files],
    { stdio: 'inherit', cwd: root, env: { ...process.env, FIRN_E2E_SHARED: stateDir, ...(sameAccounts ? { FIRN_E2E_SAME_ACCOUNTS: '1' } : {}) } },
  );
  const seen = new Map();
  const results = new Map();
  for (const line of readFileSync(out, 'utf8').split('\n').filter(Boolean)) {
    const r = JSON.parse(line);
    const base = `${relative(root, r.file ?? '?')} › ${'  '.repeat(r.nesting)}${r.name}`;
    const k = seen.get(base) ?? 0; // the same name twice in one file stays two entries
    seen.set(base, k + 1);
    results.set(k ? `${base} (#${k + 1})` : base, r.outcome);
  }
  return { results, seconds: (Date.now() - started) / 1000 };
}

function servers() {
  const out = new Map();
  for (const id of readdirSync(stateDir)) {
    const f = join(stateDir, id, 'server.json');
    if (statSync(join(stateDir, id)).isDirectory() && existsSync(f)) out.set(id, JSON.parse(readFileSync(f, 'utf8')));
  }
  return out;
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const count = (results, outcome) => [...results.values()].filter((o) => o === outcome).length;
const problems = [];
let first, second, before;
try {
  first = runSuite(1);
  before = servers();
  second = runSuite(2);
  const after = servers();
  for (const [id, s] of before) {
    const now = after.get(id);
    if (!now || now.pid !== s.pid || !alive(s.pid)) problems.push(`shared server ${id} (pid ${s.pid}) did not stay up through run 2`);
  }
  for (const [id, s] of after) if (!before.has(id)) problems.push(`run 2 started a new shared server ${id} (${JSON.stringify(s.env)}): it did not run against run 1's state`);

  console.log('\n=== e2e twice: summary ===');
  for (const [n, r] of [[1, first], [2, second]]) {
    console.log(`run ${n}: ${r.results.size} tests, ${count(r.results, 'pass')} pass, ${count(r.results, 'fail')} fail, ${count(r.results, 'skip')} skipped, ${r.seconds.toFixed(0)} s`);
  }
  console.log(`shared servers (one per configuration, same pid in both runs): ${[...before.values()].map((s) => `pid ${s.pid} ${JSON.stringify(s.env)}`).join('; ') || 'none'}`);
  const keys = new Set([...first.results.keys(), ...second.results.keys()]);
  for (const k of [...keys].sort()) {
    const a = first.results.get(k) ?? 'absent';
    const b = second.results.get(k) ?? 'absent';
    if (a !== b) problems.push(`result changed: ${k}: run 1 ${a}, run 2 ${b}`);
    else if (a === 'fail') problems.push(`failed in both runs: ${k}`);
  }
} finally {
  // Stop the servers this script's tests started (their pids are in the state directory).
  const all = servers();
  for (const s of all.values()) if (alive(s.pid)) process.kill(s.pid, 'SIGTERM');
  for (let i = 0; i < 100 && [...all.values()].some((s) => alive(s.pid)); i++) await sleep(100);
  for (const s of all.values()) if (alive(s.pid)) process.kill(s.pid, 'SIGKILL');
  if (keep) console.log(`kept ${stateDir}`);
  else rmSync(stateDir, { recursive: true, force: true });
}
for (const p of problems) console.log(`PROBLEM: ${p}`);
console.log(problems.length === 0 ? 'OK: no result changed between the two runs, and none failed.' : `${problems.length} problem(s).`);
process.exit(problems.length === 0 ? 0 : 1);
