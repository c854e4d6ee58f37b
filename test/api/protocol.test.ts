import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.js';

let s: TestServer;
before(async () => {
  s = await startTestServer();
  await s.request({ method: 'PUT', path: '/-/vaults/proto' });
});
after(async () => {
  await s.close();
});

function assertAwsError(r: { status: number; headers: Record<string, unknown>; json(): any }, status: number, code: string) {
  assert.equal(r.status, status);
  assert.equal(r.headers['content-type'], 'application/json');
  assert.match(String(r.headers['x-amzn-requestid']), /^[A-Za-z0-9_-]{47}$/);
  assert.ok(r.headers.date, 'Date header');
  const j = r.json();
  assert.deepEqual(Object.keys(j), ['code', 'message', 'type']);
  assert.equal(j.code, code);
  assert.equal(j.type, status >= 500 ? 'Server' : 'Client');
  assert.ok(j.message.length > 0);
  return j;
}

test('x-amz-glacier-version is required', async () => {
  const r = await s.request({ method: 'GET', path: '/-/vaults', headers: { 'x-amz-glacier-version': undefined as unknown as string } });
  const j = assertAwsError(r, 400, 'MissingParameterValueException');
  assert.match(j.message, /x-amz-glacier-version/);
  const bad = await s.request({ method: 'GET', path: '/-/vaults', headers: { 'x-amz-glacier-version': '2011-01-01' } });
  assertAwsError(bad, 400, 'InvalidParameterValueException');
});

test('an unknown route is a clean 404, a wrong method a 405 with Allow', async () => {
  assertAwsError(await s.request({ method: 'GET', path: '/-/nothing/here' }), 404, 'UnknownOperationException');
  assertAwsError(await s.request({ method: 'GET', path: '/' }), 404, 'UnknownOperationException');
  const r = await s.request({ method: 'PATCH', path: '/-/vaults/proto' });
  assertAwsError(r, 405, 'MethodNotAllowedException');
  assert.equal(r.headers.allow, 'DELETE, GET, PUT');
  // POST …/tags without a valid operation selector is a parameter error.
  const q = assertAwsError(await s.request({ method: 'POST', path: '/-/vaults/proto/tags', query: { operation: 'bogus' }, body: '{}' }), 400, 'InvalidParameterValueException');
  assert.match(q.message, /operation.*add, remove/);
});

test('JSON bodies are parsed whatever the Content-Type says', async () => {
  for (const ct of ['application/x-www-form-urlencoded; charset=utf-8', 'text/plain', 'application/octet-stream']) {
    const r = await s.request({
      method: 'POST',
      path: '/-/vaults/proto/tags',
      query: { operation: 'add' },
      headers: { 'content-type': ct },
      body: JSON.stringify({ Tags: { ct: 'yes' } }),
    });
    assert.equal(r.status, 204, ct);
  }
  const r = await s.request({ method: 'POST', path: '/-/vaults/proto/tags', query: { operation: 'add' }, body: '{"Tags":' });
  assertAwsError(r, 400, 'SerializationException');
});

test('an oversized JSON body is refused with 413, never buffered', async () => {
  const big = JSON.stringify({ Policy: 'x'.repeat(2 * 1024 * 1024) });
  const r = await s.request({ method: 'PUT', path: '/-/vaults/proto/access-policy', body: big });
  assertAwsError(r, 413, 'InvalidParameterValueException');
});

test('the health endpoint answers without authentication', async () => {
  const r = await s.request({ method: 'GET', path: '/_firn/health', sign: false });
  assert.equal(r.status, 200);
  assert.equal(r.json().status, 'ok');
});
