import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, TEST_ACCOUNT, type TestServer } from '../helpers/server.js';

let s: TestServer;
before(async () => {
  s = await startTestServer();
  await s.request({ method: 'PUT', path: '/-/vaults/authv' });
});
after(async () => {
  await s.close();
});

test('a request without Authorization → 400 MissingAuthenticationTokenException', async () => {
  const r = await s.request({ method: 'GET', path: '/-/vaults', sign: false });
  assert.equal(r.status, 400);
  assert.equal(r.json().code, 'MissingAuthenticationTokenException');
});

test('an unknown access key → UnrecognizedClientException', async () => {
  const r = await s.request({ method: 'GET', path: '/-/vaults', creds: { accessKeyId: 'AKIAUNKNOWNKEY000000', secretAccessKey: 'whatever-secret-0000' } });
  assert.equal(r.status, 400);
  assert.equal(r.json().code, 'UnrecognizedClientException');
});

test('a wrong secret → 403 InvalidSignatureException', async () => {
  const r = await s.request({ method: 'GET', path: '/-/vaults', creds: { accessKeyId: s.creds.accessKeyId, secretAccessKey: 'not-the-right-secret' } });
  assert.equal(r.status, 403);
  assert.equal(r.json().code, 'InvalidSignatureException');
});

test('a date skewed by more than 15 minutes is refused; within 15 minutes accepted', async () => {
  const old = await s.request({ method: 'GET', path: '/-/vaults', signingDate: new Date(Date.now() - 16 * 60_000) });
  assert.equal(old.status, 403);
  assert.match(old.json().message, /Signature expired/);
  const future = await s.request({ method: 'GET', path: '/-/vaults', signingDate: new Date(Date.now() + 16 * 60_000) });
  assert.equal(future.status, 403);
  const ok = await s.request({ method: 'GET', path: '/-/vaults', signingDate: new Date(Date.now() - 10 * 60_000) });
  assert.equal(ok.status, 200);
});

test('advancing the domain clock does not expire signatures (SigV4 uses real time)', async () => {
  s.clock.advance(6 * 3600_000);
  const r = await s.request({ method: 'GET', path: '/-/vaults' });
  assert.equal(r.status, 200);
});

test('a body that differs from the signed one is refused', async () => {
  // The signature covers a payload hash; send a different body under the same signature.
  const { signedRequest } = await import('../helpers/server.js');
  const body = JSON.stringify({ Tags: { a: 'b' } });
  const tampered = JSON.stringify({ Tags: { a: 'c' } });
  // x-amz-content-sha256 claims the signed body; the server hashes what arrived.
  const { createHash } = await import('node:crypto');
  const sha = createHash('sha256').update(body).digest('hex');
  const r = await signedRequest(s.url, {
    method: 'POST',
    path: '/-/vaults/authv/tags',
    query: { operation: 'add' },
    headers: { 'x-amz-content-sha256': sha },
    body: tampered,
    unsignedHeaders: [],
  });
  assert.equal(r.status, 403);
  assert.equal(r.json().code, 'InvalidSignatureException');
  const tags = await s.request({ method: 'GET', path: '/-/vaults/authv/tags' });
  assert.deepEqual(tags.json(), { Tags: {} }, 'nothing was stored');
});

test('a tampered signed header is refused', async () => {
  // Sign with x-amz-archive-description "a", then the header table says "b" (simulated by signing a different value).
  const r = await s.request({
    method: 'GET',
    path: '/-/vaults',
    headers: { 'x-amz-glacier-version': '2012-06-01', 'x-amz-meta': 'one' },
  });
  assert.equal(r.status, 200);
  const { SignatureV4 } = await import('@smithy/signature-v4');
  const { HttpRequest } = await import('@smithy/protocol-http');
  const { Sha256 } = await import('@aws-crypto/sha256-js');
  const u = new URL(s.url);
  const signer = new SignatureV4({ credentials: s.creds, region: 'us-east-1', service: 'glacier', sha256: Sha256, uriEscapePath: true });
  const signed = await signer.sign(
    new HttpRequest({ method: 'GET', hostname: u.hostname, port: Number(u.port), path: '/-/vaults', headers: { host: u.host, 'x-amz-glacier-version': '2012-06-01', 'x-custom': 'one' } }),
  );
  const headers = { ...(signed.headers as Record<string, string>), 'x-custom': 'two' };
  const res = await fetch(`${s.url}/-/vaults`, { headers });
  assert.equal(res.status, 403);
  assert.equal(((await res.json()) as { code: string }).code, 'InvalidSignatureException');
});

test('"-" and the caller\'s own account id both work; another account id → 403 AccessDeniedException', async () => {
  assert.equal((await s.request({ method: 'GET', path: '/-/vaults/authv' })).status, 200);
  assert.equal((await s.request({ method: 'GET', path: `/${TEST_ACCOUNT}/vaults/authv` })).status, 200);
  const r = await s.request({ method: 'GET', path: '/999988887777/vaults/authv' });
  assert.equal(r.status, 403);
  assert.equal(r.json().code, 'AccessDeniedException');
  const bad = await s.request({ method: 'GET', path: '/1111-2222-3333/vaults/authv' });
  assert.equal(bad.status, 403);
});

test('a security token (STS) is refused: Firn issues none', async () => {
  const r = await s.request({ method: 'GET', path: '/-/vaults', headers: { 'x-amz-security-token': 'FQoGZXIvYXdzE' } });
  assert.equal(r.json().code, 'UnrecognizedClientException');
});
