import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { loadConfig, ConfigError } from '../../src/config/load.js';
import { configTable } from '../../src/config/doc.js';
import { formatDuration, parseDuration, schema, showDefault, type ConfigKey } from '../../src/config/schema.js';

test('defaults: loopback, port 4590, ./data', () => {
  const c = loadConfig({});
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.port, 4590);
  assert.equal(c.dataDir, './data');
  assert.ok(Object.isFrozen(c));
});

test('environment variables and flags (flags win)', () => {
  const c = loadConfig({ FIRN_PORT: '8080', FIRN_HOST: '0.0.0.0' }, { port: '9090' });
  assert.equal(c.port, 9090);
  assert.equal(c.host, '0.0.0.0');
});

test('invalid values stop start-up with a message naming the variable', () => {
  assert.throws(() => loadConfig({ FIRN_PORT: 'http' }), (e: Error) => e instanceof ConfigError && /FIRN_PORT="http": must be an integer/.test(e.message));
  assert.throws(() => loadConfig({ FIRN_PORT: '70000' }), ConfigError);
  assert.throws(() => loadConfig({}, { port: '-1' }), (e: Error) => /--port/.test(e.message));
  assert.throws(() => loadConfig({ FIRN_ACCOUNT_ID: '12345' }), (e: Error) => /FIRN_ACCOUNT_ID.*12 digits/.test(e.message));
  assert.throws(
    () => loadConfig({ FIRN_ACCOUNT_ID: '111122223333' }),
    (e: Error) => /must be set together/.test(e.message),
  );
  assert.throws(() => loadConfig({ FIRN_LOG_LEVEL: 'loud' }), (e: Error) => /one of/.test(e.message));
});

test('docs/configuration.md lists every key and is current', () => {
  const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
  assert.ok(doc.includes(configTable()), 'run: node --import tsx scripts/gen-config-doc.ts');
  for (const k of Object.values(schema)) assert.ok(doc.includes(k.env), k.env);
});

test('`firn serve` with an invalid value exits 2 with a clear message', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', "import('./src/cli/main.ts').then(m => m.main(['node','firn','serve']))"], {
    env: { ...process.env, FIRN_PORT: 'http', FIRN_DATA_DIR: '/nonexistent/never-created' },
    encoding: 'utf8',
    cwd: new URL('../..', import.meta.url).pathname,
  });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /FIRN_PORT="http": must be an integer from 0 to 65535/);
});

test('durations: one notation everywhere; a bare number is refused, not guessed', () => {
  assert.equal(loadConfig({ FIRN_JOB_OUTPUT_RETENTION: '24h' }).jobOutputRetention, 86_400_000);
  assert.equal(loadConfig({ FIRN_NOTIFY_POLL_INTERVAL: '500ms' }).notifyPollInterval, 500);
  assert.equal(loadConfig({ FIRN_TIMING_STANDARD: '1.5m' }).timingStandard, 90_000);
  assert.equal(loadConfig({ FIRN_TIMING_STANDARD: '0' }).timingStandard, 0);
  assert.throws(
    () => loadConfig({ FIRN_JOB_OUTPUT_RETENTION: '86400000' }),
    (e: Error) => /FIRN_JOB_OUTPUT_RETENTION="86400000": a duration without a unit is ambiguous: write 86400000ms or 86400000s/.test(e.message),
  );
  assert.throws(() => loadConfig({}, { shutdownGrace: '30 sec' }), (e: Error) => /--shutdown-grace="30 sec": must be a duration with a unit/.test(e.message));
  // Every duration default, as shown, reads back as itself.
  for (const [name, key] of Object.entries(schema) as [string, ConfigKey<unknown>][]) {
    if (key.parse !== parseDuration || key.default === null) continue;
    const shown = showDefault(key);
    assert.match(shown, /^(0|\d+(ms|s|m|h))$/, name);
    assert.equal(loadConfig({ [key.env]: shown })[name as keyof typeof schema], key.default, name);
  }
  assert.equal(formatDuration(86_400_000), '24h');
  assert.equal(formatDuration(1500), '1500ms');
});

test('sizes: bytes or a binary unit, shown as they are written', () => {
  assert.equal(loadConfig({ FIRN_FREE_SPACE_RESERVE: '512MiB' }).freeSpaceReserve, 512 * 1024 * 1024);
  assert.equal(loadConfig({ FIRN_FREE_SPACE_RESERVE: '1000' }).freeSpaceReserve, 1000);
  assert.equal(loadConfig({ FIRN_FREE_SPACE_RESERVE: '0' }).freeSpaceReserve, 0);
  assert.throws(() => loadConfig({ FIRN_FREE_SPACE_RESERVE: '2GB' }), (e: Error) => /FIRN_FREE_SPACE_RESERVE="2GB": must be a size/.test(e.message));
  assert.equal(showDefault(schema.freeSpaceReserve), '256MiB');
  assert.equal(loadConfig({ FIRN_FREE_SPACE_RESERVE: showDefault(schema.freeSpaceReserve) }).freeSpaceReserve, schema.freeSpaceReserve.default);
});

test('`firn serve --help` shows duration defaults as the docs do (24h, not 86400000)', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', "import('./src/cli/main.ts').then(m => m.main(['node','firn','serve','--help']))"], {
    encoding: 'utf8',
    cwd: new URL('../..', import.meta.url).pathname,
    env: { ...process.env, COLUMNS: '1000' },
  });
  const help = r.stdout.replace(/\s+/g, ' ');
  assert.match(help, /FIRN_JOB_OUTPUT_RETENTION, default 24h\]/);
  assert.match(help, /FIRN_SHUTDOWN_GRACE, default 30s\]/);
  assert.doesNotMatch(help, /86400000/);
});
