import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { startTestServer, TEST_ACCOUNT, TEST_SECRET, type Creds, type RawRequest, type TestServer } from '../helpers/server.js';
import * as admin from '../../src/auth/admin.js';
import { ROUTES } from '../../src/http/routes.js';
import { queryMetadata } from '../helpers/metadata.js';

const B = '444455556666';
let s: TestServer;
let nobody: Creds; // user of TEST_ACCOUNT with no policy
let reader: Creds; // user of TEST_ACCOUNT allowed Describe*/List*
let rootB: Creds; // root of account B
let userB: Creds; // user of B with glacier:* on everything (identity side)
let userB2: Creds; // user of B with no policy

const creds = (c: admin.NewCredentials): Creds => ({ accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey });
const policy = (statements: unknown[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });
const vaultArn = (name: string, acct = TEST_ACCOUNT) => `arn:aws:glacier:us-east-1:${acct}:vaults/${name}`;

before(async () => {
  s = await startTestServer();
  const store = s.running.app.store;
  const now = Date.now();
  for (const u of ['nobody', 'reader', 'tagged', 'ipuser']) await admin.createUser(store, TEST_ACCOUNT, u, now);
  nobody = creds(await admin.createAccessKey(store, TEST_ACCOUNT, 'nobody', now));
  reader = creds(await admin.createAccessKey(store, TEST_ACCOUNT, 'reader', now));
  await admin.putUserPolicy(store, TEST_ACCOUNT, 'reader', 'read', policy([{ Effect: 'Allow', Action: ['glacier:Describe*', 'glacier:List*', 'glacier:Get*'], Resource: '*' }]), now);
  rootB = creds(await admin.createAccount(store, B, now));
  await admin.createUser(store, B, 'bob', now);
  await admin.createUser(store, B, 'carol', now);
  userB = creds(await admin.createAccessKey(store, B, 'bob', now));
  userB2 = creds(await admin.createAccessKey(store, B, 'carol', now));
  await admin.putUserPolicy(store, B, 'bob', 'all', policy([{ Effect: 'Allow', Action: 'glacier:*', Resource: '*' }]), now);
  for (const v of ['shared', 'private', 'denied', 'blue', 'red']) assert.equal((await s.request({ method: 'PUT', path: `/-/vaults/${v}` })).status, 201);
});
after(async () => {
  await s.close();
});

/** A request for every one of the 33 operations against `vault` of `account`. */
function everyOperation(account: string, vault: string): (RawRequest & { op: string })[] {
  const jobId = 'J'.repeat(92);
  const uploadId = 'U'.repeat(92);
  const archiveId = 'A'.repeat(138);
  return ROUTES.map((r) => {
    const path = r.path
      .replace('{accountId}', account)
      .replace('{vaultName}', vault)
      .replace('{jobId}', jobId)
      .replace('{uploadId}', uploadId)
      .replace('{archiveId}', archiveId)
      .replace('{lockId}', 'L'.repeat(24));
    const body = ['SetVaultAccessPolicy', 'InitiateVaultLock'].includes(r.op)
      ? JSON.stringify({ Policy: policy([{ Effect: 'Allow', Principal: '*', Action: 'glacier:*', Resource: '*' }]) })
      : r.op === 'AddTagsToVault'
        ? JSON.stringify({ Tags: { a: 'b' } })
        : r.op === 'RemoveTagsFromVault'
          ? JSON.stringify({ TagKeys: ['a'] })
          : r.op === 'InitiateJob'
            ? JSON.stringify({ Type: 'inventory-retrieval' })
            : r.op === 'SetVaultNotifications'
              ? JSON.stringify({ SNSTopic: 'arn:aws:sns:us-east-1:111122223333:t', Events: ['ArchiveRetrievalCompleted'] })
              : r.op === 'SetDataRetrievalPolicy'
                ? JSON.stringify({ Policy: { Rules: [{ Strategy: 'FreeTier' }] } })
                : r.streaming
                  ? 'hello'
                  : undefined;
    const headers: Record<string, string> = {};
    if (r.streaming) headers['x-amz-content-sha256'] = createHash('sha256').update('hello').digest('hex');
    if (r.op === 'UploadMultipartPart') headers['content-range'] = 'bytes 0-4/*';
    return { op: r.op, method: r.method, path, ...(r.query ? { query: r.query } : {}), headers, ...(body !== undefined ? { body } : {}) };
  });
}

test('an IAM user with no policy may do nothing: all 33 operations → 403 AccessDeniedException', async () => {
  const ops = everyOperation('-', 'shared');
  assert.equal(ops.length, 33);
  for (const req of ops) {
    const r = await s.request({ ...req, creds: nobody });
    assert.equal(r.status, 403, `${req.op}: ${r.body.toString()}`);
    const j = r.json();
    assert.equal(j.code, 'AccessDeniedException', req.op);
    assert.match(j.message, new RegExp(`^User: arn:aws:iam::${TEST_ACCOUNT}:user/nobody is not authorized to perform: glacier:${req.op} on resource: arn:aws:glacier:us-east-1:${TEST_ACCOUNT}:`));
  }
  // Nothing changed: the tags POST and the policy PUT were refused before their handlers ran.
  assert.deepEqual((await s.request({ method: 'GET', path: '/-/vaults/shared/tags' })).json(), { Tags: {} });
  assert.equal((await s.request({ method: 'GET', path: '/-/vaults/shared/access-policy' })).status, 404);
});

test('another account with no grant: every operation on our vault by explicit account id → 403', async () => {
  for (const c of [rootB, userB]) {
    for (const req of everyOperation(TEST_ACCOUNT, 'shared')) {
      const r = await s.request({ ...req, creds: c });
      assert.equal(r.status, 403, `${req.op}: ${r.body.toString()}`);
      assert.equal(r.json().code, 'AccessDeniedException', req.op);
    }
  }
});

test('the account root may do everything in its own account', async () => {
  const r = await s.request({ method: 'POST', path: '/-/vaults/private/tags', query: { operation: 'add' }, body: JSON.stringify({ Tags: { k: 'v' } }) });
  assert.equal(r.status, 204);
  assert.equal((await s.request({ method: 'GET', path: '/-/vaults' })).status, 200);
});

test('an identity policy grants exactly what it says', async () => {
  assert.equal((await s.request({ method: 'GET', path: '/-/vaults', creds: reader })).status, 200);
  assert.equal((await s.request({ method: 'GET', path: '/-/vaults/private', creds: reader })).status, 200);
  assert.equal((await s.request({ method: 'GET', path: '/-/vaults/private/tags', creds: reader })).json().Tags.k, 'v');
  const w = await s.request({ method: 'PUT', path: '/-/vaults/readers-vault', creds: reader });
  assert.equal(w.status, 403);
  assert.equal((await s.request({ method: 'DELETE', path: '/-/vaults/private', creds: reader })).status, 403);
  // Same account id spelled out works like "-".
  assert.equal((await s.request({ method: 'GET', path: `/${TEST_ACCOUNT}/vaults/private`, creds: reader })).status, 200);
});

test('an explicit deny in an identity policy beats its allow', async () => {
  const store = s.running.app.store;
  await admin.putUserPolicy(store, TEST_ACCOUNT, 'reader', 'no-private', policy([{ Effect: 'Deny', Action: 'glacier:*', Resource: vaultArn('private') }]), Date.now());
  try {
    const r = await s.request({ method: 'GET', path: '/-/vaults/private', creds: reader });
    assert.equal(r.status, 403);
    assert.match(r.json().message, /with an explicit deny$/);
    assert.equal((await s.request({ method: 'GET', path: '/-/vaults/shared', creds: reader })).status, 200);
  } finally {
    await admin.deleteUserPolicy(store, TEST_ACCOUNT, 'reader', 'no-private');
  }
  assert.equal((await s.request({ method: 'GET', path: '/-/vaults/private', creds: reader })).status, 200);
});

test('a vault access policy naming a same-account user grants it without an identity policy', async () => {
  const set = await s.request({
    method: 'PUT',
    path: '/-/vaults/private/access-policy',
    body: JSON.stringify({ Policy: policy([{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${TEST_ACCOUNT}:user/nobody` }, Action: 'glacier:DescribeVault', Resource: vaultArn('private') }]) }),
  });
  assert.equal(set.status, 204);
  assert.equal((await s.request({ method: 'GET', path: '/-/vaults/private', creds: nobody })).status, 200);
  assert.equal((await s.request({ method: 'GET', path: '/-/vaults/private/tags', creds: nobody })).status, 403);
  // Naming the account only delegates to the account's IAM: an ungranted user stays refused.
  await s.request({
    method: 'PUT',
    path: '/-/vaults/private/access-policy',
    body: JSON.stringify({ Policy: policy([{ Effect: 'Allow', Principal: { AWS: TEST_ACCOUNT }, Action: 'glacier:*', Resource: vaultArn('private') }]) }),
  });
  assert.equal((await s.request({ method: 'GET', path: '/-/vaults/private', creds: nobody })).status, 403);
  assert.equal((await s.request({ method: 'DELETE', path: '/-/vaults/private/access-policy' })).status, 204);
});

test('cross-account read-only by vault access policy (DG example 2 shape), by explicit account id', async () => {
  const readOnly = policy([
    {
      Sid: 'read-only-for-b',
      Principal: { AWS: `arn:aws:iam::${B}:root` },
      Effect: 'Allow',
      Action: ['glacier:DescribeVault', 'glacier:ListTagsForVault', 'glacier:InitiateJob', 'glacier:GetJobOutput', 'glacier:DescribeJob', 'glacier:ListJobs'],
      Resource: vaultArn('shared'),
    },
  ]);
  assert.equal((await s.request({ method: 'PUT', path: '/-/vaults/shared/access-policy', body: JSON.stringify({ Policy: readOnly }) })).status, 204);
  const d = await s.request({ method: 'GET', path: `/${TEST_ACCOUNT}/vaults/shared`, creds: rootB });
  assert.equal(d.status, 200);
  assert.equal(d.json().VaultARN, vaultArn('shared'));
  assert.equal((await s.request({ method: 'GET', path: `/${TEST_ACCOUNT}/vaults/shared/tags`, creds: rootB })).status, 200);
  // Writes, other vaults, and account-level operations stay refused.
  for (const req of [
    { method: 'POST', path: `/${TEST_ACCOUNT}/vaults/shared/tags`, query: { operation: 'add' }, body: JSON.stringify({ Tags: { x: 'y' } }) },
    { method: 'DELETE', path: `/${TEST_ACCOUNT}/vaults/shared` },
    { method: 'PUT', path: `/${TEST_ACCOUNT}/vaults/shared/access-policy`, body: JSON.stringify({ Policy: readOnly }) },
    { method: 'GET', path: `/${TEST_ACCOUNT}/vaults/private` },
    { method: 'GET', path: `/${TEST_ACCOUNT}/vaults` },
  ]) {
    const r = await s.request({ ...req, creds: rootB });
    assert.equal(r.status, 403, `${req.method} ${req.path}`);
    assert.equal(r.json().code, 'AccessDeniedException');
  }
  // "-" means B's own account: B sees its own (empty) namespace, not ours.
  assert.equal((await s.request({ method: 'GET', path: '/-/vaults/shared', creds: rootB })).status, 404);
  // A user of B needs B's identity policy too: bob has one, carol has none.
  assert.equal((await s.request({ method: 'GET', path: `/${TEST_ACCOUNT}/vaults/shared`, creds: userB })).status, 200);
  assert.equal((await s.request({ method: 'GET', path: `/${TEST_ACCOUNT}/vaults/shared`, creds: userB2 })).status, 403);
  // An identity policy alone never reaches into another account.
  assert.equal((await s.request({ method: 'GET', path: `/${TEST_ACCOUNT}/vaults/private`, creds: userB })).status, 403);
});

test('an explicit deny in the vault access policy binds the vault owner\'s root too', async () => {
  const deny = policy([{ Sid: 'no-tag-changes', Principal: '*', Effect: 'Deny', Action: ['glacier:AddTagsToVault', 'glacier:RemoveTagsFromVault'], Resource: vaultArn('denied') }]);
  assert.equal((await s.request({ method: 'PUT', path: '/-/vaults/denied/access-policy', body: JSON.stringify({ Policy: deny }) })).status, 204);
  const r = await s.request({ method: 'POST', path: '/-/vaults/denied/tags', query: { operation: 'add' }, body: JSON.stringify({ Tags: { a: 'b' } }) });
  assert.equal(r.status, 403);
  assert.equal(r.json().message, `User: arn:aws:iam::${TEST_ACCOUNT}:root is not authorized to perform: glacier:AddTagsToVault on resource: ${vaultArn('denied')} with an explicit deny`);
  // The policy itself can still be replaced by the root (it does not deny that).
  assert.equal((await s.request({ method: 'DELETE', path: '/-/vaults/denied/access-policy' })).status, 204);
  assert.equal((await s.request({ method: 'POST', path: '/-/vaults/denied/tags', query: { operation: 'add' }, body: JSON.stringify({ Tags: { a: 'b' } }) })).status, 204);
});

test('condition keys at the HTTP edge: glacier:ResourceTag, aws:SourceIp, aws:username, aws:CurrentTime', async () => {
  const store = s.running.app.store;
  await s.request({ method: 'POST', path: '/-/vaults/blue/tags', query: { operation: 'add' }, body: JSON.stringify({ Tags: { team: 'blue' } }) });
  await s.request({ method: 'POST', path: '/-/vaults/red/tags', query: { operation: 'add' }, body: JSON.stringify({ Tags: { team: 'red' } }) });
  const tagged = creds(await admin.createAccessKey(store, TEST_ACCOUNT, 'tagged', Date.now()));
  await admin.putUserPolicy(
    store,
    TEST_ACCOUNT,
    'tagged',
    'by-tag',
    policy([{ Effect: 'Allow', Action: 'glacier:DescribeVault', Resource: '*', Condition: { StringEquals: { 'glacier:ResourceTag/team': 'blue', 'aws:username': 'tagged' } } }]),
    Date.now(),
  );
  assert.equal((await s.request({ method: 'GET', path: '/-/vaults/blue', creds: tagged })).status, 200);
  assert.equal((await s.request({ method: 'GET', path: '/-/vaults/red', creds: tagged })).status, 403);

  const ipuser = creds(await admin.createAccessKey(store, TEST_ACCOUNT, 'ipuser', Date.now()));
  const byIp = (cidr: string) =>
    admin.putUserPolicy(store, TEST_ACCOUNT, 'ipuser', 'ip', policy([{ Effect: 'Allow', Action: 'glacier:ListVaults', Resource: '*', Condition: { IpAddress: { 'aws:SourceIp': cidr } } }]), Date.now());
  await byIp('127.0.0.0/8');
  assert.equal((await s.request({ method: 'GET', path: '/-/vaults', creds: ipuser })).status, 200);
  await byIp('10.0.0.0/8');
  assert.equal((await s.request({ method: 'GET', path: '/-/vaults', creds: ipuser })).status, 403);

  // aws:CurrentTime follows the domain clock (the one tests move).
  const cutoff = new Date(s.clock.now() + 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  await admin.putUserPolicy(store, TEST_ACCOUNT, 'ipuser', 'ip', policy([{ Effect: 'Allow', Action: 'glacier:ListVaults', Resource: '*', Condition: { DateLessThan: { 'aws:CurrentTime': cutoff } } }]), Date.now());
  assert.equal((await s.request({ method: 'GET', path: '/-/vaults', creds: ipuser })).status, 200);
  s.clock.advance(2 * 3600_000);
  assert.equal((await s.request({ method: 'GET', path: '/-/vaults', creds: ipuser })).status, 403);
});

test('malformed vault access policies → 400 InvalidParameterValueException saying what is wrong; nothing stored', async () => {
  const cases: [string, RegExp][] = [
    ['{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"glacier:*","Resource":"*"}]}', /missing required element Principal/],
    ['{"Version":"2012-10-17","Statement":[{"Effect":"Permit","Principal":"*","Action":"glacier:*","Resource":"*"}]}', /Effect must be "Allow" or "Deny"/],
    ['{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"glacier:*","Resource":"*","Condition":{"NumericLessThan":{"glacier:ArchiveAgeInDays":"soon"}}}]}', /needs numbers/],
    ['{"Statement":', /not valid JSON/],
  ];
  for (const [text, re] of cases) {
    const r = await s.request({ method: 'PUT', path: '/-/vaults/red/access-policy', body: JSON.stringify({ Policy: text }) });
    assert.equal(r.status, 400, text);
    assert.equal(r.json().code, 'InvalidParameterValueException');
    assert.match(r.json().message, re);
  }
  assert.equal((await s.request({ method: 'GET', path: '/-/vaults/red/access-policy' })).status, 404);
});

test('disabled and deleted keys are refused; re-enabled keys work again', async () => {
  const store = s.running.app.store;
  const k = await admin.createAccessKey(store, TEST_ACCOUNT, 'reader', Date.now());
  const c = creds(k);
  assert.equal((await s.request({ method: 'GET', path: '/-/vaults', creds: c })).status, 200);
  await admin.setAccessKeyStatus(store, k.accessKeyId, 'Inactive');
  let r = await s.request({ method: 'GET', path: '/-/vaults', creds: c });
  assert.equal(r.status, 400);
  assert.equal(r.json().code, 'UnrecognizedClientException');
  await admin.setAccessKeyStatus(store, k.accessKeyId, 'Active');
  assert.equal((await s.request({ method: 'GET', path: '/-/vaults', creds: c })).status, 200);
  await admin.deleteAccessKey(store, k.accessKeyId);
  r = await s.request({ method: 'GET', path: '/-/vaults', creds: c });
  assert.equal(r.json().code, 'UnrecognizedClientException');
});

test('replayed (signed 16 minutes ago), tampered and mis-signed requests by a granted user are refused', async () => {
  const old = await s.request({ method: 'GET', path: '/-/vaults', creds: reader, signingDate: new Date(Date.now() - 16 * 60_000) });
  assert.equal(old.status, 403);
  assert.notEqual(old.json().code, 'AccessDeniedException');
  const wrongSecret = await s.request({ method: 'GET', path: '/-/vaults', creds: { accessKeyId: reader.accessKeyId, secretAccessKey: reader.secretAccessKey + 'x' } });
  assert.equal(wrongSecret.status, 403);
  assert.equal(wrongSecret.json().code, 'InvalidSignatureException');
  // A signed x-amz-content-sha256 that does not match the body that arrives.
  const sha = createHash('sha256').update('{"Tags":{"a":"1"}}').digest('hex');
  const tampered = await s.request({
    method: 'POST',
    path: '/-/vaults/blue/tags',
    query: { operation: 'add' },
    headers: { 'x-amz-content-sha256': sha },
    body: '{"Tags":{"a":"2"}}',
  });
  assert.equal(tampered.status, 403);
  assert.equal(tampered.json().code, 'InvalidSignatureException');
});

test('secrets are encrypted at rest: the database alone does not contain them', async () => {
  const secrets = [TEST_SECRET, nobody.secretAccessKey, rootB.secretAccessKey];
  if (s.metadataUrl) {
    // Every row of every table of the server's schema, as text (bytea as hex), as a dump would hold it.
    const tables = await queryMetadata<{ name: string }>(s.metadataUrl, `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()`);
    let dump = '';
    for (const { name } of tables) for (const r of await queryMetadata<{ row: string }>(s.metadataUrl, `SELECT t::text AS row FROM "${name}" t`)) dump += r.row + '\n';
    for (const c of [nobody, rootB]) assert.ok(dump.includes(c.accessKeyId), 'the dump holds the access keys (it read the right schema)');
    for (const secret of secrets) {
      assert.equal(dump.includes(secret), false, 'secret found in the PostgreSQL schema');
      assert.equal(dump.includes(Buffer.from(secret).toString('hex')), false, 'secret found (as bytea) in the PostgreSQL schema');
    }
  } else {
    const db = readFileSync(join(s.dataDir, 'meta.db'));
    let wal = Buffer.alloc(0);
    try {
      wal = readFileSync(join(s.dataDir, 'meta.db-wal'));
    } catch {
      // no WAL file: everything is in meta.db
    }
    for (const secret of secrets) {
      assert.equal(db.includes(secret), false, 'secret found in meta.db');
      assert.equal(wal.includes(secret), false, 'secret found in meta.db-wal');
    }
  }
  const st = statSync(join(s.dataDir, 'master.key'));
  assert.equal(st.mode & 0o077, 0, 'master.key is readable by group or others');
});
