import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { OffsetClock } from '../../src/lib/clock.js';
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
