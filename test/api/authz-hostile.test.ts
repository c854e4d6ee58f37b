import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { UploadArchiveCommand } from '@aws-sdk/client-glacier';
import { startTestServer, TEST_ACCOUNT, TEST_SECRET, type Creds, type TestServer } from '../helpers/server.js';
import * as admin from '../../src/auth/admin.js';
import { createLogger } from '../../src/lib/logger.js';
import { startServer } from '../../src/main.js';
import { defaultConfig } from '../../src/config/load.js';
import { rng } from '../helpers/rng.js';

let s: TestServer;
let rootB: Creds;

before(async () => {
  s = await startTestServer();
  const b = await admin.createAccount(s.running.app.store, '444455556666', Date.now());
  rootB = { accessKeyId: b.accessKeyId, secretAccessKey: b.secretAccessKey };
  await s.request({ method: 'PUT', path: '/-/vaults/fuzz' });
});
after(async () => {
  await s.close();
});


test('HTTP fuzz: 300 mutated policies through SetVaultAccessPolicy and InitiateVaultLock never give a 5xx', async () => {
  const r = rng(6);
  const base = JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Sid: 'a', Principal: { AWS: ['arn:aws:iam::444455556666:root'] }, Effect: 'Allow', Action: ['glacier:Describe*'], Resource: `arn:aws:glacier:us-east-1:${TEST_ACCOUNT}:vaults/fuzz` },
      { Sid: 'b', Principal: '*', Effect: 'Deny', Action: 'glacier:DeleteArchive', Resource: '*', Condition: { NumericLessThan: { 'glacier:ArchiveAgeInDays': '1' } } },
    ],
  });
  const junk = ['{', '}', '[', ']', '"', ',', ':', '\\', 'null', '*', '\u0000', '\ud83d\ude00', 'Deny', '"Condition":{}', '1e999'];
  const seen = new Map<number, number>();
  for (let i = 0; i < 300; i++) {
    let text = base;
    for (let k = 1 + Math.floor(r() * 3); k > 0; k--) {
      const p = Math.floor(r() * text.length);
      text = r() < 0.5 ? text.slice(0, p) + text.slice(p + 1 + Math.floor(r() * 5)) : text.slice(0, p) + junk[Math.floor(r() * junk.length)] + text.slice(p);
    }
    const lock = i % 3 === 0;
    const res = await s.request({ method: lock ? 'POST' : 'PUT', path: `/-/vaults/fuzz/${lock ? 'lock-policy' : 'access-policy'}`, body: JSON.stringify({ Policy: text }) });
    assert.ok(res.status < 500, `${res.status} for ${text}: ${res.body.toString()}`);
    assert.ok([201, 204, 400, 403].includes(res.status), `${res.status}`);
    if (res.status >= 400) assert.match(res.json().code, /^(InvalidParameterValueException|AccessDeniedException)$/);
    seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
    if (lock && res.status === 201) await s.request({ method: 'DELETE', path: '/-/vaults/fuzz/lock-policy' });
  }
  assert.ok((seen.get(400) ?? 0) > 50, 'malformed inputs were exercised');
  assert.ok((seen.get(204) ?? 0) + (seen.get(201) ?? 0) > 10, 'valid mutations were exercised');
  // Requests keep being authorized against whatever policy was left: still no 5xx.
  const d = await s.request({ method: 'GET', path: `/${TEST_ACCOUNT}/vaults/fuzz`, creds: rootB });
  assert.ok(d.status === 200 || d.status === 403);
});

test('hostile Policy bodies: wrong types, oversize, deep nesting → 400, never 5xx', async () => {
  const deep = '['.repeat(5000) + ']'.repeat(5000);
  const bodies: [string, number][] = [
    [JSON.stringify({ Policy: 42 }), 400],
    [JSON.stringify({ Policy: { Version: '2012-10-17' } }), 400],
    [JSON.stringify({ Policy: null }), 400],
    [JSON.stringify({}), 400],
    [JSON.stringify({ Policy: 'x'.repeat(21 * 1024) }), 400],
    [JSON.stringify({ Policy: deep }), 400],
    [JSON.stringify({ Policy: JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: '*', Action: 'glacier:*', Resource: '*', Condition: { StringLike: { 'aws:PrincipalArn': '*a'.repeat(4000) + 'b' } } }] }) }), 204],
    ['[1,2,3]', 400],
    ['not json', 400],
  ];
  for (const [body, want] of bodies) {
    for (const path of ['/-/vaults/fuzz/access-policy', '/-/vaults/fuzz/lock-policy']) {
      const res = await s.request({ method: path.endsWith('lock-policy') ? 'POST' : 'PUT', path, body });
      assert.equal(res.status, path.endsWith('lock-policy') && want === 204 ? 201 : want, `${path} ${body.slice(0, 80)}: ${res.body.toString().slice(0, 200)}`);
      if (res.status === 201) await s.request({ method: 'DELETE', path });
    }
  }
  // A wildcard-heavy pattern (`*a*a…*ab`, which stalls a backtracking RegExp) is evaluated quickly.
  await s.request({
    method: 'PUT',
    path: '/-/vaults/fuzz/access-policy',
    body: JSON.stringify({ Policy: JSON.stringify({ Statement: [{ Effect: 'Deny', Principal: '*', Action: 'glacier:Describe*', Resource: '*', Condition: { StringNotLike: { 'aws:PrincipalArn': '*a'.repeat(4000) + 'b' } } }] }) }),
  });
  const t0 = Date.now();
  const g = await s.request({ method: 'GET', path: '/-/vaults/fuzz' });
  assert.equal(g.status, 403, 'the deny applied: the pattern was evaluated (and did not match)');
  assert.ok(Date.now() - t0 < 2000, `evaluation took ${Date.now() - t0} ms`);
});

test("another account's ids are refused: its archive id in our vault path, our ids through its own namespace", async () => {
  await s.request({ method: 'DELETE', path: '/-/vaults/fuzz/access-policy' });
  const mine = await s.glacier().send(new UploadArchiveCommand({ accountId: '-', vaultName: 'fuzz', body: Buffer.from('mine') }));
  // B makes a vault of the same name in its own account and aims our archive id at it.
  assert.equal((await s.request({ method: 'PUT', path: '/-/vaults/fuzz', creds: rootB })).status, 201);
  const viaOwn = await s.request({ method: 'DELETE', path: `/-/vaults/fuzz/archives/${mine.archiveId}`, creds: rootB });
  assert.equal(viaOwn.status, 400);
  assert.equal(viaOwn.json().code, 'InvalidParameterValueException');
  const viaOurs = await s.request({ method: 'DELETE', path: `/${TEST_ACCOUNT}/vaults/fuzz/archives/${mine.archiveId}`, creds: rootB });
  assert.equal(viaOurs.status, 403);
  const vault = await s.running.app.store.vaults.get({ accountId: TEST_ACCOUNT, region: 'us-east-1', name: 'fuzz' });
  assert.ok(await s.running.app.store.archives.get(vault!.id, mine.archiveId!), 'the archive is still there');
});

test('secrets never reach the log, even at trace level', async () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  const log = createLogger('trace', sink);
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'firn-log-'));
  const running = await startServer(
    defaultConfig({ port: 0, dataDir: dir, accountId: TEST_ACCOUNT, rootAccessKeyId: 'AKIAFIRNTESTKEY00001', rootSecretAccessKey: TEST_SECRET, logLevel: 'trace' }),
    { log },
  );
  try {
    const { signedRequest } = await import('../helpers/server.js');
    await signedRequest(running.url, { method: 'PUT', path: '/-/vaults/logged' });
    await signedRequest(running.url, { method: 'GET', path: '/-/vaults/logged', creds: { accessKeyId: 'AKIAFIRNTESTKEY00001', secretAccessKey: 'wrong-secret-0000000000' } });
    await signedRequest(running.url, { method: 'GET', path: '/999999999999/vaults/logged' });
  } finally {
    await running.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const all = lines.join('');
  assert.ok(all.includes('"request"') || all.includes('request'), 'requests were logged');
  assert.equal(all.includes(TEST_SECRET), false);
});
