import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { checkOldGeneration, streamed, watchOldGeneration } from '../../src/lib/gc.js';

test('streaming 8 MiB runs a young-generation collection, without exposing gc() to the process', { timeout: 30_000 }, async () => {
  const minor = gcOfKind(constants.NODE_PERFORMANCE_GC_MINOR);
  // No allocation here, so nothing but streamed() has reason to collect.
  for (let i = 0; i < 8; i++) streamed(1024 * 1024);
  await minor;
  assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined');
});

test('a full collection once the old generation grew by 16 MiB of garbage, and none without growth', { timeout: 30_000 }, async () => {
  const oldUsed = () => getHeapSpaceStatistics().find((s) => s.space_name === 'old_space')!.space_used_size;
  // Measured from here: whatever the old generation holds now is the baseline.
  const stop = watchOldGeneration();
  try {
    // Small objects that survive two young collections are promoted to the old generation.
    let held: number[][] | null = Array.from({ length: 400_000 }, (_, i) => [i, i + 1, i + 2]);
    for (let i = 0; i < 4; i++) streamed(8 * 1024 * 1024);
    const promoted = oldUsed();
    assert.equal(held.length, 400_000);
    held = null;
    assert.ok(checkOldGeneration(), `no collection with ${promoted} bytes in the old generation`);
    // Synchronously: the collection ran inside the check, not later by V8's own schedule.
    const after = oldUsed();
    assert.ok(after < promoted - 16 * 1024 * 1024, `the old generation still holds ${after} bytes (was ${promoted})`);
    // Nothing promoted since: no collection.
    assert.equal(checkOldGeneration(), false);
  } finally {
    stop();
  }
});

test('with a large live heap, the old generation may grow by half of it before a full collection', { timeout: 30_000 }, () => {
  const oldUsed = () => getHeapSpaceStatistics().find((s) => s.space_name === 'old_space')!.space_used_size;
  const promote = () => {
    for (let i = 0; i < 4; i++) streamed(8 * 1024 * 1024);
  };
  const stop = watchOldGeneration();
  try {
    const live = Array.from({ length: 800_000 }, (_, i) => [i, i + 1, i + 2]); // ≈ 58 MB
    promote();
    assert.ok(checkOldGeneration(), 'no collection after the live data was promoted');
    const baseline = oldUsed();
    assert.ok(baseline > 48 * 1024 * 1024, `live data not in the old generation (${baseline} bytes)`);
    // ≈ 25 MB of garbage: more than 16 MiB, less than half the live heap.
    let garbage: number[][] | null = Array.from({ length: 350_000 }, (_, i) => [i, i + 1, i + 2]);
    promote();
    const grown = oldUsed() - baseline;
    assert.ok(grown > 16 * 1024 * 1024 && grown < baseline / 2, `grown ${grown} bytes for ${baseline} live: adjust the sizes`);
    assert.equal(garbage.length, 350_000);
    garbage = null;
    assert.equal(checkOldGeneration(), false);
    assert.equal(live.length, 800_000);
  } finally {
    stop();
  }
});

/** Resolves at the next garbage collection of this kind (perf_hooks' constants). */
function gcOfKind(kind: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    // The observer does not keep the event loop alive until its entries are delivered; this does.
    const timeout = setTimeout(() => reject(new Error(`no collection of kind ${kind} within 10 s`)), 10_000);
    const obs = new PerformanceObserver((list) => {
      if (list.getEntries().some((e) => (e as unknown as { detail?: { kind?: number } }).detail?.kind === kind)) {
        obs.disconnect();
        clearTimeout(timeout);
        resolve();
      }
    });
    obs.observe({ entryTypes: ['gc'] });
  });
}
