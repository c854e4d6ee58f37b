import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// bin/firn.js (the `firn` command) starts node through POSIX shell lines that set the memory
// settings unless the environment has them (docs/operations.md, "Memory"). A stand-in `node` on
// PATH prints what it was started with.
const bin = new URL('../../bin/firn.js', import.meta.url).pathname;

function launch(shell: string[], env: Record<string, string>): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'firn-launcher-'));
  try {
    const fake = join(dir, 'node');
    writeFileSync(fake, '#!/bin/sh\nprintf "%s\\n" "NODE_OPTIONS=${NODE_OPTIONS-unset}" "MALLOC_ARENA_MAX=${MALLOC_ARENA_MAX-unset}" "MALLOC_MMAP_THRESHOLD_=${MALLOC_MMAP_THRESHOLD_-unset}" "$@"\n');
    chmodSync(fake, 0o755);
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !['NODE_OPTIONS', 'MALLOC_ARENA_MAX', 'MALLOC_MMAP_THRESHOLD_'].includes(k))) as Record<string, string>;
    // [bin]: run as a program; [shell...]: the shell reads the file.
    const [cmd, ...pre] = shell;
    const args = cmd === bin ? ['serve', 'two words'] : [...pre, bin, 'serve', 'two words'];
    return execFileSync(cmd!, args, { encoding: 'utf8', env: { ...base, ...env, PATH: `${dir}:${process.env.PATH}` } }).trimEnd().split('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// As the kernel runs it (its #! line), with /bin/sh; and with BusyBox's sh, Alpine's, when here.
const shells: string[][] = [[bin]];
if (spawnSync('sh', ['-c', 'command -v busybox'], { encoding: 'utf8' }).status === 0) shells.push(['busybox', 'sh']);

for (const shell of shells) {
  const how = shell.join(' ') === bin ? 'bin/firn.js' : `${shell.join(' ')} bin/firn.js`;

  test(`${how}: node gets the memory settings and the arguments unchanged`, () => {
    assert.deepEqual(launch(shell, {}), ['NODE_OPTIONS=--max-semi-space-size=8', 'MALLOC_ARENA_MAX=2', 'MALLOC_MMAP_THRESHOLD_=262144', bin, 'serve', 'two words']);
  });

  test(`${how}: settings the environment has are kept; other node options get the flag added`, () => {
    assert.deepEqual(launch(shell, { NODE_OPTIONS: '--max-semi-space-size=16 --trace-warnings', MALLOC_ARENA_MAX: '4', MALLOC_MMAP_THRESHOLD_: '131072' }).slice(0, 3), [
      'NODE_OPTIONS=--max-semi-space-size=16 --trace-warnings',
      'MALLOC_ARENA_MAX=4',
      'MALLOC_MMAP_THRESHOLD_=131072',
    ]);
    assert.equal(launch(shell, { NODE_OPTIONS: '--trace-warnings' })[0], 'NODE_OPTIONS=--max-semi-space-size=8 --trace-warnings');
  });
}

test('the real node runs the file as JavaScript too (the shell lines are comments there)', () => {
  const pkg = JSON.parse(execFileSync('sh', ['-c', 'cat "$0"', new URL('../../package.json', import.meta.url).pathname], { encoding: 'utf8' })) as { version: string };
  assert.equal(execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim(), pkg.version);
  assert.equal(execFileSync(process.execPath, [bin, '--version'], { encoding: 'utf8' }).trim(), pkg.version);
});
