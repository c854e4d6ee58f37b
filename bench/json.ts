/**
 * What the lossless JSON parser costs against JSON.parse. Not a test: `node --import tsx bench/json.ts`.
 * Bodies: an InitiateJob (inventory with parameters), a SetDataRetrievalPolicy with 2^63−1, and a
 * SetVaultAccessPolicy carrying a 20 KB policy document as a string (the largest body Glacier
 * clients send). Median of 7 runs of N parses each.
 */
import { performance } from 'node:perf_hooks';
import { parseJsonLossless, stringifyJsonLossless } from '../src/http/json.js';

const statement = { Sid: 'allow-read', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:user/someone' }, Action: ['glacier:DescribeVault'], Resource: 'arn:aws:glacier:us-east-1:111122223333:vaults/v' };
const policy = JSON.stringify({ Version: '2012-10-17', Statement: Array.from({ length: 200 }, () => statement) }).slice(0, 20_000);
const bodies: Record<string, string> = {
  InitiateJob: JSON.stringify({ Type: 'inventory-retrieval', Format: 'CSV', Description: 'nightly', InventoryRetrievalParameters: { StartDate: '2013-03-20T17:03:43Z', Limit: '10000' } }),
  SetDataRetrievalPolicy: '{"Policy":{"Rules":[{"Strategy":"BytesPerHour","BytesPerHour":9223372036854775807}]}}',
  'SetVaultAccessPolicy (20 KB)': JSON.stringify({ Policy: policy }),
};

function time(fn: () => void, n: number): number {
  const runs: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t = performance.now();
    for (let i = 0; i < n; i++) fn();
    runs.push(((performance.now() - t) * 1000) / n);
  }
  return runs.sort((a, b) => a - b)[3]!;
}

console.log('| body | bytes | JSON.parse µs | parseJsonLossless µs | ratio |');
console.log('|---|---|---|---|---|');
for (const [name, text] of Object.entries(bodies)) {
  const n = text.length > 1000 ? 2_000 : 50_000;
  const a = time(() => JSON.parse(text), n);
  const b = time(() => parseJsonLossless(text), n);
  console.log(`| ${name} | ${text.length} | ${a.toFixed(2)} | ${b.toFixed(2)} | ${(b / a).toFixed(1)}× |`);
}
const out = { Policy: { Rules: [{ BytesPerHour: 9223372036854775807n, Strategy: 'BytesPerHour' }] } };
console.log(`\nstringifyJsonLossless (GetDataRetrievalPolicy): ${time(() => stringifyJsonLossless(out), 50_000).toFixed(2)} µs`);
