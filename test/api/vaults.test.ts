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

test('ListVaults: ASCII order, limit/marker pagination with an ARN marker, null at the end', async () => {
  const names = ['p-B', 'p-a', 'p-A', 'p_1', 'p-0', 'p.z'];
  for (const n of names) await s.request({ method: 'PUT', path: `/-/vaults/${n}`, region: 'ap-south-1' });
  const seen: string[] = [];
  let marker: string | null = null;
  let pages = 0;
  do {
    const q: Record<string, string> = { limit: '2' };
    if (marker) q.marker = marker;
    const r = await s.request({ method: 'GET', path: '/-/vaults', query: q, region: 'ap-south-1' });
    assert.equal(r.status, 200);
    const j = r.json();
    assert.deepEqual(Object.keys(j).sort(), ['Marker', 'VaultList']);
    assert.ok(j.VaultList.length <= 2);
    seen.push(...j.VaultList.map((v: { VaultName: string }) => v.VaultName));
    marker = j.Marker;
    if (marker) assert.match(marker, /^arn:aws:glacier:ap-south-1:111122223333:vaults\//);
    pages++;
  } while (marker);
  assert.deepEqual(seen, [...names].sort());
  assert.equal(pages, 3);
  const all = (await s.request({ method: 'GET', path: '/-/vaults', region: 'ap-south-1' })).json();
  assert.equal(all.VaultList.length, 6);
  assert.equal(all.Marker, null);
  for (const bad of ['0', '1001', 'x', '-1']) {
    const r = await s.request({ method: 'GET', path: '/-/vaults', query: { limit: bad }, region: 'ap-south-1' });
    assert.equal(r.status, 400, bad);
    assert.equal(r.json().code, 'InvalidParameterValueException');
  }
  const badMarker = await s.request({ method: 'GET', path: '/-/vaults', query: { marker: 'garbage' }, region: 'ap-south-1' });
  assert.equal(badMarker.status, 400);
});

test('ListVaults defaults to 10 per page', async () => {
  for (let i = 0; i < 12; i++) await s.request({ method: 'PUT', path: `/-/vaults/many-${String(i).padStart(2, '0')}`, region: 'sa-east-1' });
  const j = (await s.request({ method: 'GET', path: '/-/vaults', region: 'sa-east-1' })).json();
  assert.equal(j.VaultList.length, 10);
  assert.equal(j.Marker, 'arn:aws:glacier:sa-east-1:111122223333:vaults/many-10');
});

test('DeleteVault: 204, then 404; unknown vault 404', async () => {
  await s.request({ method: 'PUT', path: '/-/vaults/doomed' });
  await s.request({ method: 'POST', path: '/-/vaults/doomed/tags', query: { operation: 'add' }, body: JSON.stringify({ Tags: { k: 'v' } }) });
  assert.equal((await s.request({ method: 'DELETE', path: '/-/vaults/doomed' })).status, 204);
  assert.equal((await s.request({ method: 'GET', path: '/-/vaults/doomed' })).status, 404);
  assert.equal((await s.request({ method: 'DELETE', path: '/-/vaults/doomed' })).status, 404);
  // Re-created, it starts clean: sub-resources were deleted with it.
  await s.request({ method: 'PUT', path: '/-/vaults/doomed' });
  assert.deepEqual((await s.request({ method: 'GET', path: '/-/vaults/doomed/tags' })).json(), { Tags: {} });
});

test('tags: add overwrites, remove is idempotent, 50-tag limit, key and value rules', async () => {
  await s.request({ method: 'PUT', path: '/-/vaults/tagged' });
  const add = (tags: Record<string, unknown>) =>
    s.request({ method: 'POST', path: '/-/vaults/tagged/tags', query: { operation: 'add' }, body: JSON.stringify({ Tags: tags }) });
  const remove = (keys: unknown) =>
    s.request({ method: 'POST', path: '/-/vaults/tagged/tags', query: { operation: 'remove' }, body: JSON.stringify({ TagKeys: keys }) });
  const list = async () => (await s.request({ method: 'GET', path: '/-/vaults/tagged/tags' })).json().Tags;
  assert.deepEqual(await list(), {});
  assert.equal((await add({ env: 'prod', 'cost center': 'a/b=c+d-e@f.g_h', empty: '' })).status, 204);
  assert.equal((await add({ env: 'dev' })).status, 204);
  assert.deepEqual(await list(), { 'cost center': 'a/b=c+d-e@f.g_h', empty: '', env: 'dev' });
  assert.equal((await remove(['env', 'never-there'])).status, 204);
  assert.equal((await remove(['env'])).status, 204);
  assert.deepEqual(Object.keys(await list()).sort(), ['cost center', 'empty']);

  for (const bad of [{ 'aws:reserved': 'x' }, { 'bad!key': 'x' }, { ['k'.repeat(129)]: 'x' }, { k: 'v'.repeat(256) }, { k: 'semi;colon' }, { k: 5 }]) {
    const r = await add(bad);
    assert.equal(r.status, 400, JSON.stringify(bad).slice(0, 40));
    assert.equal(r.json().code, 'InvalidParameterValueException');
  }
  assert.equal((await add({})).status, 400);
  const eleven = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`t${i}`, 'v']));
  assert.equal((await add(eleven)).status, 400);
  assert.equal((await s.request({ method: 'POST', path: '/-/vaults/tagged/tags', query: { operation: 'add' }, body: '{}' })).json().code, 'MissingParameterValueException');

  // Fill to exactly 50 (2 exist), then one more is LimitExceededException and changes nothing.
  for (let i = 0; i < 48; i += 8) {
    const batch = Object.fromEntries(Array.from({ length: Math.min(8, 48 - i) }, (_, j) => [`fill${i + j}`, 'v']));
    assert.equal((await add(batch)).status, 204);
  }
  assert.equal(Object.keys(await list()).length, 50);
  const over = await add({ extra: '1', 'cost center': 'overwrite' });
  assert.equal(over.status, 400);
  assert.equal(over.json().code, 'LimitExceededException');
  const after = await list();
  assert.equal(Object.keys(after).length, 50);
  assert.equal(after['cost center'], 'a/b=c+d-e@f.g_h', 'a refused request changes nothing');
  assert.equal((await add({ 'cost center': 'overwrite ok' })).status, 204, 'overwriting at the limit is allowed');
});

test('notification configuration: set/get/delete, validation, 404 when none', async () => {
  await s.request({ method: 'PUT', path: '/-/vaults/notified' });
  const path = '/-/vaults/notified/notification-configuration';
  const none = await s.request({ method: 'GET', path });
  assert.equal(none.status, 404);
  assert.equal(none.json().code, 'ResourceNotFoundException');
  const topic = 'arn:aws:sns:us-east-1:111122223333:archive-events';
  const put = await s.request({ method: 'PUT', path, body: JSON.stringify({ SNSTopic: topic, Events: ['ArchiveRetrievalCompleted', 'InventoryRetrievalCompleted'] }) });
  assert.equal(put.status, 204);
  assert.deepEqual((await s.request({ method: 'GET', path })).json(), { Events: ['ArchiveRetrievalCompleted', 'InventoryRetrievalCompleted'], SNSTopic: topic });
  for (const body of [
    { SNSTopic: topic, Events: ['ArchiveRetrievalCompleted', 'VaultDeleted'] },
    { SNSTopic: 'not-an-arn', Events: ['ArchiveRetrievalCompleted'] },
    { SNSTopic: topic, Events: [] },
  ]) {
    const r = await s.request({ method: 'PUT', path, body: JSON.stringify(body) });
    assert.equal(r.status, 400, JSON.stringify(body));
  }
  assert.equal((await s.request({ method: 'PUT', path, body: JSON.stringify({ Events: ['ArchiveRetrievalCompleted'] }) })).json().code, 'MissingParameterValueException');
  assert.equal((await s.request({ method: 'GET', path })).json().SNSTopic, topic, 'refused updates change nothing');
  assert.equal((await s.request({ method: 'DELETE', path })).status, 204);
  assert.equal((await s.request({ method: 'DELETE', path })).status, 204);
  assert.equal((await s.request({ method: 'GET', path })).status, 404);
});

test('access policy: stored byte-exact, JSON object ≤ 20 KB, 404 when none, delete idempotent', async () => {
  await s.request({ method: 'PUT', path: '/-/vaults/policed' });
  const path = '/-/vaults/policed/access-policy';
  assert.equal((await s.request({ method: 'GET', path })).status, 404);
  const policy = '{"Version":"2012-10-17","Statement":[{"Sid":"ro","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999988887777:root"},"Action":["glacier:DescribeVault"],"Resource":"arn:aws:glacier:us-east-1:111122223333:vaults/policed"}]}';
  assert.equal((await s.request({ method: 'PUT', path, body: JSON.stringify({ Policy: policy }) })).status, 204);
  const got = await s.request({ method: 'GET', path });
  assert.deepEqual(got.json(), { Policy: policy });
  for (const bad of ['not json', '[1,2]', '"str"']) {
    const r = await s.request({ method: 'PUT', path, body: JSON.stringify({ Policy: bad }) });
    assert.equal(r.status, 400, bad);
    assert.equal(r.json().code, 'InvalidParameterValueException');
  }
  const huge = JSON.stringify({ Version: '2012-10-17', Statement: [], Pad: 'x'.repeat(21 * 1024) });
  assert.equal((await s.request({ method: 'PUT', path, body: JSON.stringify({ Policy: huge }) })).status, 400);
  assert.equal((await s.request({ method: 'PUT', path, body: JSON.stringify({}) })).json().code, 'MissingParameterValueException');
  assert.equal((await s.request({ method: 'DELETE', path })).status, 204);
  assert.equal((await s.request({ method: 'DELETE', path })).status, 204);
  assert.equal((await s.request({ method: 'GET', path })).status, 404);
});
