import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { streamed } from '../../src/lib/young-gc.js';

test('streaming 8 MiB runs a young-generation collection, without exposing gc() to the process', { timeout: 30_000 }, async () => {
  const minor = new Promise<void>((resolve) => {
    const obs = new PerformanceObserver((list) => {
      if (list.getEntries().some((e) => (e as unknown as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR)) {
        obs.disconnect();
        resolve();
      }
    });
    obs.observe({ entryTypes: ['gc'] });
  });
  // No allocation here, so nothing but streamed() has reason to collect.
  for (let i = 0; i < 8; i++) streamed(1024 * 1024);
  await minor;
  assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined');
});
