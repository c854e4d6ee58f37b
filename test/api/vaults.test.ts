import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, TEST_ACCOUNT, type TestServer } from '../helpers/server.js';

let s: TestServer;
before(async () => {
  s = await startTestServer();
});
after(async () => {
  await s.close();
});

test('CreateVault is idempotent: 201 + Location with the numeric account both times', async () => {
  for (let i = 0; i < 2; i++) {
    const r = await s.request({ method: 'PUT', path: '/-/vaults/alpha' });
    assert.equal(r.status, 201);
    assert.equal(r.headers.location, `/${TEST_ACCOUNT}/vaults/alpha`);
    assert.match(String(r.headers['x-amzn-requestid']), /^[A-Za-z0-9_-]{47}$/);
    assert.ok(r.headers.date);
  }
});

test('DescribeVault returns every key, nulls included', async () => {
  await s.request({ method: 'PUT', path: '/-/vaults/describe-me' });
  const r = await s.request({ method: 'GET', path: `/${TEST_ACCOUNT}/vaults/describe-me` });
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/json');
  const j = r.json();
  assert.deepEqual(Object.keys(j), ['CreationDate', 'LastInventoryDate', 'NumberOfArchives', 'SizeInBytes', 'VaultARN', 'VaultName']);
  assert.equal(j.LastInventoryDate, null);
  assert.equal(j.NumberOfArchives, 0);
  assert.equal(j.SizeInBytes, 0);
  assert.equal(j.VaultARN, `arn:aws:glacier:us-east-1:${TEST_ACCOUNT}:vaults/describe-me`);
  assert.match(j.CreationDate, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});

test('unknown vault → 404 with the AWS message; illegal name carries the raw name', async () => {
  let r = await s.request({ method: 'GET', path: '/-/vaults/nope' });
  assert.equal(r.status, 404);
  assert.deepEqual(r.json(), {
    code: 'ResourceNotFoundException',
    message: `Vault not found for ARN: arn:aws:glacier:us-east-1:${TEST_ACCOUNT}:vaults/nope`,
    type: 'Client',
  });
  r = await s.request({ method: 'GET', path: '/-/vaults/testz:z' });
  assert.equal(r.status, 404);
  assert.equal(r.json().message, 'Vault not found for ARN: testz:z');
});

test('CreateVault rejects bad names with 400 InvalidParameterValueException', async () => {
  for (const name of ['bad:name', 'x'.repeat(256), 'sp%20ace']) {
    const r = await s.request({ method: 'PUT', path: `/-/vaults/${name}` });
    assert.equal(r.status, 400, name);
    assert.equal(r.json().code, 'InvalidParameterValueException');
  }
});

test('vaults are partitioned by region', async () => {
  await s.request({ method: 'PUT', path: '/-/vaults/regional', region: 'eu-west-1' });
  const other = await s.request({ method: 'GET', path: '/-/vaults/regional', region: 'us-west-2' });
  assert.equal(other.status, 404);
  const same = await s.request({ method: 'GET', path: '/-/vaults/regional', region: 'eu-west-1' });
  assert.equal(same.json().VaultARN, `arn:aws:glacier:eu-west-1:${TEST_ACCOUNT}:vaults/regional`);
});
