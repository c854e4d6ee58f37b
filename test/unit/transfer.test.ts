import { test } from 'node:test';
import assert from 'node:assert/strict';
import { choosePartSize, isPowerOfTwoMiB } from '../../src/client/file-hash.js';
import { CliError, EXIT, isRetryable, RetryableError, withRetry } from '../../src/client/common.js';
import { MiB, reduceDigests, treeHash } from '../../src/domain/treehash.js';
import { seededBytes } from '../helpers/glacier-raw.js';

test('part size: 16 MiB or the smallest power of two within 10,000 parts; past 40,000 GiB is refused', () => {
  const GiB = 1024 * MiB;
  assert.equal(choosePartSize(1), 16 * MiB);
  assert.equal(choosePartSize(GiB), 16 * MiB);
  assert.equal(choosePartSize(10_000 * 16 * MiB), 16 * MiB);
  assert.equal(choosePartSize(10_000 * 16 * MiB + 1), 32 * MiB);
  assert.equal(choosePartSize(200 * GiB), 32 * MiB);
  assert.equal(choosePartSize(40_000 * GiB), 4096 * MiB);
  assert.throws(() => choosePartSize(40_000 * GiB + 1), /more than 10,000 parts of 4 GiB/);
  assert.equal(choosePartSize(3 * MiB, MiB), MiB);
  for (const p of [MiB, 2 * MiB, 64 * MiB, 4096 * MiB]) assert.equal(isPowerOfTwoMiB(p), true);
  for (const p of [0, 3 * MiB, MiB + 1, MiB / 2]) assert.equal(isPowerOfTwoMiB(p), false);
});

test('the tree hashes of 2^n MiB parts (the last one short) combine into the whole file tree hash', () => {
  const data = seededBytes('combine', 13 * MiB + 777);
  for (const part of [MiB, 2 * MiB, 4 * MiB, 8 * MiB, 16 * MiB]) {
    const roots: Buffer[] = [];
    for (let off = 0; off < data.length; off += part) roots.push(Buffer.from(treeHash(data.subarray(off, off + part)), 'hex'));
    assert.equal(reduceDigests(roots).toString('hex'), treeHash(data), `part size ${part / MiB} MiB`);
  }
});

test('retry: 408, 429, 5xx, throttling, connection resets and corrupt chunks are retried; client errors are not', async () => {
  const sdkError = (name: string, status: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
  for (const e of [sdkError('RequestTimeoutException', 408), sdkError('X', 429), sdkError('ServiceUnavailableException', 503), sdkError('ThrottlingException', 400), Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), new RetryableError('corrupt')]) {
    assert.equal(isRetryable(e), true, e.name + ' ' + e.message);
  }
  for (const e of [sdkError('InvalidParameterValueException', 400), sdkError('ResourceNotFoundException', 404), new CliError('usage', EXIT.usage)]) {
    assert.equal(isRetryable(e), false, e.name);
  }

  let calls = 0;
  const retried: number[] = [];
  const ok = await withRetry(
    async () => {
      if (++calls < 3) throw sdkError('ServiceUnavailableException', 503);
      return 'done';
    },
    { attempts: 5, baseDelayMs: 1, maxDelayMs: 2, onRetry: (_e, n) => retried.push(n) },
  );
  assert.equal(ok, 'done');
  assert.deepEqual(retried, [1, 2]);

  calls = 0;
  await assert.rejects(
    withRetry(async () => {
      calls++;
      throw new RetryableError('chunk 0-9 is corrupt', EXIT.integrity);
    }, { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 }),
    (e: unknown) => e instanceof CliError && e.code === EXIT.integrity && /chunk 0-9 is corrupt \(gave up after 3 attempts\)/.test(e.message),
  );
  assert.equal(calls, 3);

  calls = 0;
  await assert.rejects(
    withRetry(async () => {
      calls++;
      throw sdkError('InvalidParameterValueException', 400);
    }),
    /InvalidParameterValueException/,
  );
  assert.equal(calls, 1);
});
