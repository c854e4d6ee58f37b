/**
 * What access control costs (issue #6). Not a test: `node --import tsx bench/authz.ts`.
 * 1. Policy evaluation alone: decisions per second for the DG vault-lock example 2 (two
 *    statements, tag and age conditions) and a 20-statement policy.
 * 2. End to end: DescribeVault requests per second (8 in flight, real HTTP + SigV4) for the
 *    account root on a vault with no policies, the root on a vault with an access policy and a
 *    Locked lock policy, an IAM user allowed by an identity policy, and another account allowed by
 *    the vault access policy. Client signing runs in the same process, so the ratio between the
 *    rows matters more than the absolute figures.
 */
import { performance } from 'node:perf_hooks';
import { cpus } from 'node:os';
import { evaluatePolicy, parsePolicy } from '../src/auth/policy.js';
import * as admin from '../src/auth/admin.js';
import { signedRequest, startTestServer, TEST_ACCOUNT, type Creds } from '../test/helpers/server.js';

const arn = (v: string) => `arn:aws:glacier:us-east-1:${TEST_ACCOUNT}:vaults/${v}`;

function micro(): void {
  const lock2 = parsePolicy(
    JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Sid: 'lock-vault', Principal: '*', Effect: 'Deny', Action: ['glacier:DeleteArchive'], Resource: [arn('v')], Condition: { StringLike: { 'glacier:ResourceTag/LegalHold': ['true', ''] } } },
        { Sid: 'young', Principal: { AWS: `arn:aws:iam::${TEST_ACCOUNT}:root` }, Effect: 'Allow', Action: ['glacier:DeleteArchive'], Resource: [arn('v')], Condition: { NumericLessThan: { 'glacier:ArchiveAgeInDays': '365' } } },
      ],
    }),
    'resource',
  );
  const big = parsePolicy(
    JSON.stringify({
      Version: '2012-10-17',
      Statement: Array.from({ length: 20 }, (_, i) => ({ Sid: `s${i}`, Principal: { AWS: `arn:aws:iam::${String(100000000000 + i)}:root` }, Effect: 'Allow', Action: ['glacier:Describe*', 'glacier:List*'], Resource: `arn:aws:glacier:*:*:vaults/v${i}*` })),
    }),
    'resource',
  );
  const ctx = new Map([['glacier:archiveageindays', ['12']], ['glacier:resourcetag/legalhold', ['false']]]);
  for (const [name, p] of [['DG vault-lock example 2', lock2], ['20-statement access policy', big]] as const) {
    const n = 200_000;
    const req = { action: 'glacier:DeleteArchive', resource: arn('v'), caller: { accountId: TEST_ACCOUNT, userName: null }, context: (k: string) => ctx.get(k) };
    for (let i = 0; i < 10_000; i++) evaluatePolicy(p, req);
    const t0 = performance.now();
    for (let i = 0; i < n; i++) evaluatePolicy(p, req);
    const ms = performance.now() - t0;
    console.log(`| evaluate ${name} | ${Math.round(n / (ms / 1000)).toLocaleString('en-US')} decisions/s | ${((ms * 1000) / n).toFixed(2)} µs each |`);
  }
}

async function rate(url: string, path: string, creds: Creds, seconds = 3): Promise<number> {
  let done = 0;
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (performance.now() < until) {
        const r = await signedRequest(url, { method: 'GET', path, creds });
        if (r.status !== 200) throw new Error(`${path}: ${r.status} ${r.body.toString()}`);
        done++;
      }
    }),
  );
  return done / seconds;
}

async function main(): Promise<void> {
  console.log(`node ${process.version}, ${cpus().length}× ${cpus()[0]?.model}`);
  console.log('| measurement | result | |\n|---|---|---|');
  micro();
  const s = await startTestServer();
  try {
    const store = s.running.app.store;
    const now = Date.now();
    await s.request({ method: 'PUT', path: '/-/vaults/plain' });
    await s.request({ method: 'PUT', path: '/-/vaults/guarded' });
    const b = await admin.createAccount(store, '444455556666', now);
    await s.request({
      method: 'PUT',
      path: '/-/vaults/guarded/access-policy',
      body: JSON.stringify({ Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Principal: { AWS: '444455556666' }, Effect: 'Allow', Action: 'glacier:Describe*', Resource: arn('guarded') }] }) }),
    });
    const lock = await s.request({
      method: 'POST',
      path: '/-/vaults/guarded/lock-policy',
      body: JSON.stringify({ Policy: JSON.stringify({ Version: '2012-10-17', Statement: [{ Principal: '*', Effect: 'Deny', Action: 'glacier:DeleteArchive', Resource: arn('guarded'), Condition: { NumericLessThan: { 'glacier:ArchiveAgeInDays': '365' } } }] }) }),
    });
    await s.request({ method: 'POST', path: `/-/vaults/guarded/lock-policy/${lock.headers['x-amz-lock-id']}` });
    await admin.createUser(store, TEST_ACCOUNT, 'u', now);
    const u = await admin.createAccessKey(store, TEST_ACCOUNT, 'u', now);
    await admin.putUserPolicy(store, TEST_ACCOUNT, 'u', 'p', JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'glacier:Describe*', Resource: '*' }] }), now);
    const rows: [string, string, Creds][] = [
      ['root, vault without policies', '/-/vaults/plain', s.creds],
      ['root, vault with access + Locked lock policy', '/-/vaults/guarded', s.creds],
      ['IAM user via identity policy', '/-/vaults/guarded', u],
      ['other account via vault access policy', `/${TEST_ACCOUNT}/vaults/guarded`, b],
    ];
    for (const [name, path, c] of rows) {
      await rate(s.url, path, c, 0.5);
      console.log(`| DescribeVault, ${name} | ${Math.round(await rate(s.url, path, c)).toLocaleString('en-US')} req/s | 8 in flight, 3 s |`);
    }
  } finally {
    await s.close();
  }
}

await main();
