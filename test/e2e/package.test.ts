import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ChildServer } from '../helpers/child-server.js';
import { signedRequest, TEST_ACCOUNT, TEST_KEY } from '../helpers/server.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };

/**
 * better-sqlite3 is a native module: installed from the registry it runs prebuild-install, which
 * downloads a prebuilt binary or (offline, as here) compiles SQLite for ~75 s. prebuild-install's
 * documented local-prebuilds directory (`npm_config_<package>_local_prebuilds`) lets it unpack the
 * binary this checkout already built instead, so the install takes seconds and runs the same scripts.
 */
async function localPrebuild(dir: string): Promise<Record<string, string>> {
  const bs = join(ROOT, 'node_modules', 'better-sqlite3');
  const { version } = JSON.parse(readFileSync(join(bs, 'package.json'), 'utf8')) as { version: string };
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  mkdirSync(dir, { recursive: true });
  await run('tar', ['czf', join(dir, name), '-C', bs, 'build/Release/better_sqlite3.node']);
  return { npm_config_better_sqlite3_local_prebuilds: dir };
}

test('npm pack builds a tarball that installs into a clean prefix; the installed firn serves signed requests and runs admin commands', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'firn-pkg-'));
  const server = new ChildServer({ dataDir: join(tmp, 'data'), command: [join(tmp, 'prefix', 'bin', 'firn')] });
  try {
    // prepack compiles dist/ from scratch.
    const packed = await run('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
    const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    const files = info!.files.map((f) => f.path);
    assert.ok(files.includes('dist/cli/main.js') && files.includes('bin/firn.js'), 'the compiled CLI is packed');
    assert.ok(files.some((f) => /^src\/storage\/metadata\/sqlite\/migrations\/001_.*\.sql$/.test(f)), 'migrations are packed');
    assert.ok(!files.some((f) => f.startsWith('test/') || f.endsWith('.ts') || f.endsWith('.map')), 'no tests, sources or source maps');

    const env = { ...process.env, ...(await localPrebuild(join(tmp, 'prebuilds'))) };
    await run('npm', ['install', '--global', '--prefix', join(tmp, 'prefix'), '--prefer-offline', '--no-audit', '--no-fund', join(tmp, info!.filename)], {
      cwd: tmp,
      env,
      maxBuffer: 16 * 1024 * 1024,
    });
    const firn = join(tmp, 'prefix', 'bin', 'firn');
    const installed = join(tmp, 'prefix', 'lib', 'node_modules', pkg.name);
    assert.ok(existsSync(join(installed, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node')));
    assert.ok(!existsSync(join(installed, 'node_modules', 'typescript')), 'no dev dependencies');
    assert.equal((await run(firn, ['--version'], { cwd: tmp })).stdout.trim(), pkg.version);

    await server.start();
    // The installed command runs the server with bin/firn.js's memory settings (its shell lines).
    const environ = readFileSync(`/proc/${server.pid}/environ`, 'utf8').split('\0');
    assert.ok(environ.some((e) => e.startsWith('NODE_OPTIONS=') && e.includes('--max-semi-space-size=8')), 'node flags from the launcher lines');
    assert.ok(environ.includes('MALLOC_ARENA_MAX=2') && environ.includes('MALLOC_MMAP_THRESHOLD_=262144'), 'malloc settings from the launcher lines');
    const listed = await signedRequest(server.url, { method: 'GET', path: '/-/vaults' });
    assert.equal(listed.status, 200, listed.body.toString());
    assert.equal((await signedRequest(server.url, { method: 'PUT', path: '/-/vaults/from-package' })).status, 201);
    assert.match(await (await fetch(`${server.url}/_firn/metrics`)).text(), /^firn_http_requests_total\{operation="CreateVault",code="201"\} 1$/m);

    const keys = JSON.parse((await run(firn, ['keys', 'list', '--data-dir', server.dataDir, '--account-id', TEST_ACCOUNT], { cwd: tmp })).stdout) as { AccessKeyId: string }[];
    assert.deepEqual(keys.map((k) => k.AccessKeyId), [TEST_KEY]);
  } finally {
    await server.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
});
