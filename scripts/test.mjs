#!/usr/bin/env node
// Runs the whole test suite: a type check of src/ and test/, then every test/**/*.test.ts file
// through node's built-in test runner (Node 20's --test has no glob support, so files are listed here).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const only = process.argv.slice(2).filter((a) => a !== '--');

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

const files = find(join(root, 'test'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=300000', ...files], {
  stdio: 'inherit',
  cwd: root,
});
process.exit(r.status ?? 1);
