import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import { OffsetClock } from '../../src/lib/clock.js';
import { createLogger } from '../../src/lib/logger.js';
import { startTestServer } from '../helpers/server.js';

test('domain time moved forward survives a restart; signatures keep using real time', async () => {
  const first = await startTestServer({ config: { testControl: true } });
  const dataDir = first.dataDir;
  try {
    const r = await fetch(`${first.url}/_firn/test/clock/advance`, { method: 'POST', body: JSON.stringify({ seconds: 5 * 3600 }) });
    assert.equal(r.status, 200);
    assert.equal(first.clock.offsetMs, 5 * 3600_000);
    await first.stop();

    const clock = new OffsetClock();
    assert.equal(clock.offsetMs, 0);
    const second = await startTestServer({ dataDir, clock, config: { testControl: true } });
    try {
      assert.equal(clock.offsetMs, 5 * 3600_000, 'offset restored from the data directory');
      const state = (await (await fetch(`${second.url}/_firn/test/clock`)).json()) as { offsetMs: number };
      assert.equal(state.offsetMs, 5 * 3600_000);
      // A vault created now is dated in domain time, 5 h ahead; the request still verifies.
      assert.equal((await second.request({ method: 'PUT', path: '/-/vaults/later' })).status, 201);
      const created = Date.parse((await second.request({ method: 'GET', path: '/-/vaults/later' })).json().CreationDate);
      assert.ok(created - Date.now() > 4.9 * 3600_000);
    } finally {
      await second.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('clock/reset puts domain time back; a saved offset without test control is warned about at start', async () => {
  const first = await startTestServer({ config: { testControl: true } });
  const dataDir = first.dataDir;
  try {
    await fetch(`${first.url}/_firn/test/clock/advance`, { method: 'POST', body: JSON.stringify({ seconds: 3600 }) });
    await first.stop();

    // Restarted without test control: the offset still applies, and the log says so.
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    const clock = new OffsetClock();
    const quiet = await startTestServer({ dataDir, clock, log: createLogger('warn', sink) });
    assert.equal(clock.offsetMs, 3600_000);
    const warning = lines.map((l) => JSON.parse(l)).find((l) => /ahead of real time/.test(l.msg));
    assert.ok(warning, lines.join(''));
    assert.equal(warning.level, 40);
    assert.match(warning.msg, /domain clock is 1h ahead of real time .*FIRN_TEST_CONTROL=true and POST \/_firn\/test\/clock\/reset/);
    // And the test-control endpoints say which setting enables them.
    const off = await fetch(`${quiet.url}/_firn/test/clock/reset`, { method: 'POST' });
    assert.equal(off.status, 404);
    const body = (await off.json()) as { code: string; message: string };
    assert.equal(body.code, 'UnknownOperationException');
    assert.match(body.message, /test-control API is off; it is enabled by FIRN_TEST_CONTROL=true/);
    await quiet.stop();

    const third = await startTestServer({ dataDir, config: { testControl: true } });
    const reset = (await (await fetch(`${third.url}/_firn/test/clock/reset`, { method: 'POST' })).json()) as { offsetMs: number };
    assert.equal(reset.offsetMs, 0);
    assert.equal(third.clock.offsetMs, 0);
    await third.stop();

    lines.length = 0;
    const fourth = await startTestServer({ dataDir, log: createLogger('warn', sink) });
    assert.equal(fourth.clock.offsetMs, 0, 'the reset was saved');
    assert.deepEqual(lines, []);
    await fourth.stop();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
