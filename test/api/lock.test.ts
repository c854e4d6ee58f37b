import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { UploadArchiveCommand, DeleteArchiveCommand, InitiateVaultLockCommand, CompleteVaultLockCommand, GetVaultLockCommand } from '@aws-sdk/client-glacier';
import { startTestServer, TEST_ACCOUNT, type Creds, type TestServer } from '../helpers/server.js';
import * as admin from '../../src/auth/admin.js';

const DAY = 86_400_000;
let s: TestServer;
let otherRoot: Creds;

const arn = (v: string) => `arn:aws:glacier:us-east-1:${TEST_ACCOUNT}:vaults/${v}`;
const doc = (statements: unknown[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });
/** Glacier DG vault-lock-policy.md Example 1, with N days and this server's vault ARN. */
const denyYoungDeletes = (vault: string, days: number) =>
  doc([
    {
      Sid: 'deny-based-on-archive-age',
      Principal: '*',
      Effect: 'Deny',
      Action: 'glacier:DeleteArchive',
      Resource: [arn(vault)],
      Condition: { NumericLessThan: { 'glacier:ArchiveAgeInDays': String(days) } },
    },
  ]);

async function initiate(vault: string, policy: string) {
  return s.request({ method: 'POST', path: `/-/vaults/${vault}/lock-policy`, body: JSON.stringify({ Policy: policy }) });
}

before(async () => {
  s = await startTestServer();
  otherRoot = await admin.createAccount(s.running.app.store, '444455556666', Date.now()).then((c) => ({ accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey }));
  for (const v of ['life', 'expiry', 'abort', 'enforce', 'canon', 'bad']) assert.equal((await s.request({ method: 'PUT', path: `/-/vaults/${v}` })).status, 201);
});
after(async () => {
  await s.close();
});

test('no lock: GetVaultLock → 404; AbortVaultLock is idempotent 204', async () => {
  const g = await s.request({ method: 'GET', path: '/-/vaults/life/lock-policy' });
  assert.equal(g.status, 404);
  assert.equal(g.json().code, 'ResourceNotFoundException');
  assert.equal((await s.request({ method: 'DELETE', path: '/-/vaults/life/lock-policy' })).status, 204);
});

test('lifecycle: Initiate (201 + x-amz-lock-id) → InProgress → Complete → Locked and immutable', async () => {
  const policy = denyYoungDeletes('life', 365);
  const created = s.clock.now();
  const r = await initiate('life', policy);
  assert.equal(r.status, 201);
  const lockId = String(r.headers['x-amz-lock-id']);
  assert.match(lockId, /^[A-Za-z0-9]{24}$/);

  let g = await s.request({ method: 'GET', path: '/-/vaults/life/lock-policy' });
  assert.equal(g.status, 200);
  let j = g.json();
  assert.deepEqual(Object.keys(j), ['Policy', 'State', 'ExpirationDate', 'CreationDate']);
  assert.equal(j.Policy, policy, 'stored byte-exact');
  assert.equal(j.State, 'InProgress');
  assert.ok(Math.abs(Date.parse(j.CreationDate) - created) < 5000);
  assert.equal(Date.parse(j.ExpirationDate) - Date.parse(j.CreationDate), DAY);

  // A second Initiate while InProgress → AccessDeniedException.
  const again = await initiate('life', policy);
  assert.equal(again.status, 403);
  assert.equal(again.json().code, 'AccessDeniedException');

  // Wrong id while InProgress → InvalidParameterValueException (API reference).
  const wrong = await s.request({ method: 'POST', path: `/-/vaults/life/lock-policy/${'X'.repeat(24)}` });
  assert.equal(wrong.status, 400);
  assert.equal(wrong.json().code, 'InvalidParameterValueException');

  assert.equal((await s.request({ method: 'POST', path: `/-/vaults/life/lock-policy/${lockId}` })).status, 204);
  g = await s.request({ method: 'GET', path: '/-/vaults/life/lock-policy' });
  j = g.json();
  assert.equal(j.State, 'Locked');
  assert.equal(j.ExpirationDate, null);
  assert.equal(j.Policy, policy);

  // Idempotent with the same id; wrong id once Locked → AccessDeniedException.
  assert.equal((await s.request({ method: 'POST', path: `/-/vaults/life/lock-policy/${lockId}` })).status, 204);
  const wrongLocked = await s.request({ method: 'POST', path: `/-/vaults/life/lock-policy/${'X'.repeat(24)}` });
  assert.equal(wrongLocked.status, 403);
  assert.equal(wrongLocked.json().code, 'AccessDeniedException');

  // Nobody removes or replaces a Locked policy, the account root included.
  const abort = await s.request({ method: 'DELETE', path: '/-/vaults/life/lock-policy' });
  assert.equal(abort.status, 403);
  assert.equal(abort.json().code, 'AccessDeniedException');
  assert.equal((await initiate('life', doc([{ Principal: '*', Effect: 'Allow', Action: 'glacier:*', Resource: '*' }]))).status, 403);
  // The access policy is a separate document: setting or deleting it leaves the lock alone.
  const open = doc([{ Principal: '*', Effect: 'Allow', Action: 'glacier:*', Resource: arn('life') }]);
  assert.equal((await s.request({ method: 'PUT', path: '/-/vaults/life/access-policy', body: JSON.stringify({ Policy: open }) })).status, 204);
  assert.equal((await s.request({ method: 'DELETE', path: '/-/vaults/life/access-policy' })).status, 204);
  // Years later it is still Locked.
  s.clock.advance(400 * DAY);
  g = await s.request({ method: 'GET', path: '/-/vaults/life/lock-policy' });
  assert.equal(g.json().State, 'Locked');
  assert.equal(g.json().Policy, policy);
});

test('an InProgress lock expires after 24 h by the injected clock: 404, old id refused, a new lock may start', async () => {
  const r = await initiate('expiry', denyYoungDeletes('expiry', 30));
  const lockId = String(r.headers['x-amz-lock-id']);
  s.clock.advance(DAY - 60_000);
  assert.equal((await s.request({ method: 'GET', path: '/-/vaults/expiry/lock-policy' })).json().State, 'InProgress');
  s.clock.advance(60_000);
  assert.equal((await s.request({ method: 'GET', path: '/-/vaults/expiry/lock-policy' })).status, 404);
  const late = await s.request({ method: 'POST', path: `/-/vaults/expiry/lock-policy/${lockId}` });
  assert.equal(late.status, 400);
  assert.equal(late.json().code, 'InvalidParameterValueException');
  const fresh = await initiate('expiry', denyYoungDeletes('expiry', 30));
  assert.equal(fresh.status, 201);
  assert.notEqual(fresh.headers['x-amz-lock-id'], lockId);
});

test('AbortVaultLock removes an InProgress lock (then GetVaultLock → 404)', async () => {
  assert.equal((await initiate('abort', denyYoungDeletes('abort', 30))).status, 201);
  assert.equal((await s.request({ method: 'DELETE', path: '/-/vaults/abort/lock-policy' })).status, 204);
  assert.equal((await s.request({ method: 'GET', path: '/-/vaults/abort/lock-policy' })).status, 404);
  assert.equal((await s.request({ method: 'DELETE', path: '/-/vaults/abort/lock-policy' })).status, 204);
});

test('a malformed lock policy → 400 InvalidParameterValueException; no lock installed', async () => {
  const r = await initiate('bad', '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"glacier:DeleteArchive","Resource":"*"}]}');
  assert.equal(r.status, 400);
  assert.equal(r.json().code, 'InvalidParameterValueException');
  assert.match(r.json().message, /Principal/);
  const missing = await s.request({ method: 'POST', path: '/-/vaults/bad/lock-policy', body: '{}' });
  assert.equal(missing.status, 400);
  assert.equal((await s.request({ method: 'GET', path: '/-/vaults/bad/lock-policy' })).status, 404);
});

test('the lock policy is enforced while InProgress (users can test it) and lifts on abort', async () => {
  const deny = doc([{ Sid: 'freeze-tags', Principal: '*', Effect: 'Deny', Action: 'glacier:AddTagsToVault', Resource: arn('enforce') }]);
  assert.equal((await initiate('enforce', deny)).status, 201);
  const tag = () => s.request({ method: 'POST', path: '/-/vaults/enforce/tags', query: { operation: 'add' }, body: JSON.stringify({ Tags: { a: 'b' } }) });
  const r = await tag();
  assert.equal(r.status, 403);
  assert.match(r.json().message, /explicit deny/);
  assert.equal((await s.request({ method: 'DELETE', path: '/-/vaults/enforce/lock-policy' })).status, 204);
  assert.equal((await tag()).status, 204);
});

test('canonical vault lock: archives younger than 365 days cannot be deleted by anyone, once Locked', async () => {
  const g = s.glacier();
  const up = (body: string) => g.send(new UploadArchiveCommand({ accountId: '-', vaultName: 'canon', body: Buffer.from(body) }));
  const young = await up('young archive');
  const old = await up('old archive');
  const lock = await g.send(new InitiateVaultLockCommand({ accountId: '-', vaultName: 'canon', policy: { Policy: denyYoungDeletes('canon', 365) } }));
  assert.match(lock.lockId!, /^[A-Za-z0-9]{24}$/);
  // Enforced while InProgress already.
  await assert.rejects(g.send(new DeleteArchiveCommand({ accountId: '-', vaultName: 'canon', archiveId: young.archiveId! })), (e: any) => e.name === 'AccessDeniedException');
  await g.send(new CompleteVaultLockCommand({ accountId: '-', vaultName: 'canon', lockId: lock.lockId! }));
  assert.equal((await g.send(new GetVaultLockCommand({ accountId: '-', vaultName: 'canon' }))).State, 'Locked');

  // The root of the vault's account: refused with an explicit deny.
  const r = await s.request({ method: 'DELETE', path: `/-/vaults/canon/archives/${young.archiveId}` });
  assert.equal(r.status, 403);
  assert.equal(r.json().code, 'AccessDeniedException');
  assert.match(r.json().message, /glacier:DeleteArchive.*explicit deny/);
  // Another account granted everything by the access policy: still refused.
  await s.request({
    method: 'PUT',
    path: '/-/vaults/canon/access-policy',
    body: JSON.stringify({ Policy: doc([{ Principal: { AWS: 'arn:aws:iam::444455556666:root' }, Effect: 'Allow', Action: 'glacier:*', Resource: arn('canon') }]) }),
  });
  const cross = await s.request({ method: 'DELETE', path: `/${TEST_ACCOUNT}/vaults/canon/archives/${young.archiveId}`, creds: otherRoot });
  assert.equal(cross.status, 403);
  // 364 days later: still protected. At 365 days the archive may go.
  s.clock.advance(364 * DAY);
  assert.equal((await s.request({ method: 'DELETE', path: `/-/vaults/canon/archives/${old.archiveId}` })).status, 403);
  s.clock.advance(DAY);
  assert.equal((await s.request({ method: 'DELETE', path: `/-/vaults/canon/archives/${old.archiveId}` })).status, 204);
  // The lock is unchanged, and the other account's grant lets it delete the now-old archive too.
  assert.equal((await s.request({ method: 'DELETE', path: `/${TEST_ACCOUNT}/vaults/canon/archives/${young.archiveId}`, creds: otherRoot })).status, 204);
  assert.equal((await s.request({ method: 'GET', path: '/-/vaults/canon/lock-policy' })).json().State, 'Locked');
});
