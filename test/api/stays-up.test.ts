import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { startTestServer, TEST_KEY, type TestServer } from '../helpers/server.js';
import { exchange, head, signHeaders, type Exchange } from '../helpers/raw-http.js';
import { ROUTES } from '../../src/http/routes.js';
import { createLogger } from '../../src/lib/logger.js';
import { MAX_JSON_BODY } from '../../src/http/body.js';

let s: TestServer;
const logged: { level: number; msg: string }[] = [];

before(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logged.push(JSON.parse(line));
      cb();
    },
  });
  s = await startTestServer({ config: { uploadBodyTimeout: 400, headersTimeout: 1000 }, log: createLogger('warn', sink) });
  assert.equal((await s.request({ method: 'PUT', path: '/-/vaults/fz' })).status, 201);
});
after(async () => {
  await s.close();
});

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const BAD_CREDS = { accessKeyId: TEST_KEY, secretAccessKey: 'not-the-secret-at-all-0000000000' };

/** Every route with its placeholders filled in. */
const targets = ROUTES.map((r) => {
  const path = r.path.replace('{accountId}', '-').replace('{vaultName}', 'fz').replace(/\{\w+\}/g, 'x');
  const query = r.query ? '?' + new URLSearchParams(r.query).toString() : '';
  return { method: r.method, path, query, target: path + query, op: r.op };
});

async function stillServes(what: string, ex: Exchange): Promise<void> {
  assert.ok(ex.status === null || ex.status < 500, `${what}: answered ${ex.status}\n${ex.text.slice(0, 300)}`);
  const r = await s.request({ method: 'GET', path: '/-/vaults' });
  assert.equal(r.status, 200, `after ${what}: signed ListVaults answered ${r.status} ${r.body.toString()}`);
}

const chunked = (data: Buffer) => [data.length.toString(16) + '\r\n', data, '\r\n0\r\n\r\n'];

test('fuzz: hostile requests to every route never end the process nor stop it serving signed requests', async (t) => {
  // In `firn serve` an unhandled rejection or exception would end the process: none may happen.
  const escaped: unknown[] = [];
  const onEscape = (e: unknown) => escaped.push(e);
  process.on('unhandledRejection', onEscape);
  t.after(() => process.off('unhandledRejection', onEscape));
  const host = { host: `127.0.0.1:${s.port}` };
  const big = Buffer.alloc(1_100_000);
  let cases = 0;
  const run = async (what: string, parts: (string | Buffer)[], opts: { end?: boolean } = {}) => {
    cases++;
    await stillServes(what, await exchange(s.port, parts, opts));
  };
  for (const t of targets) {
    const who = `${t.method} ${t.target}`;
    // The one-liner that used to take the server down, against every route.
    await run(`${who}: 1.1 MB chunked, unsigned`, [head(t.method, t.target, { ...host, 'transfer-encoding': 'chunked' }), ...chunked(big)]);
    await run(`${who}: Content-Length garbage, unsigned`, [head(t.method, t.target, { ...host, 'content-length': '100' }), Buffer.alloc(100, 0xff)]);
    await run(`${who}: body stops half way, unsigned`, [head(t.method, t.target, { ...host, 'content-length': '1000' }), 'x'.repeat(500)], { end: true });
    // Signed requests whose body then misbehaves: these reach the body readers and the handlers.
    const body = Buffer.from('{"Type":"inventory-retrieval"}');
    const signedClaim = await signHeaders(s.port, s.creds, t.method, t.path, { 'x-amz-content-sha256': sha(body), 'x-amz-sha256-tree-hash': sha(body), 'content-length': String(body.length) }, { query: Object.fromEntries(new URLSearchParams(t.query)) });
    await run(`${who}: signed, body stops half way`, [head(t.method, t.target, signedClaim), body.subarray(0, 10)], { end: true });
    await run(`${who}: signed, another body`, [head(t.method, t.target, signedClaim), Buffer.alloc(body.length, 0x41)]);
    const signedChunked = await signHeaders(s.port, s.creds, t.method, t.path, { 'x-amz-content-sha256': sha(big), 'x-amz-sha256-tree-hash': sha(big), 'transfer-encoding': 'chunked' }, { query: Object.fromEntries(new URLSearchParams(t.query)) });
    await run(`${who}: signed, chunked 1.1 MB cut short`, [head(t.method, t.target, signedChunked), ...chunked(big).slice(0, 2)], { end: true });
    const signedNoClaim = await signHeaders(s.port, s.creds, t.method, t.path, { 'content-length': '1000' }, { query: Object.fromEntries(new URLSearchParams(t.query)), body: Buffer.alloc(1000, 0x20) });
    await run(`${who}: signed without x-amz-content-sha256, body stops half way`, [head(t.method, t.target, signedNoClaim), Buffer.alloc(500, 0x20)], { end: true });
  }

  const jobs = '/-/vaults/fz/jobs';
  const garbage: [string, (string | Buffer)[]][] = [
    ['bad chunk size zz', [head('POST', jobs, { ...host, 'transfer-encoding': 'chunked' }), 'zz\r\nabc\r\n0\r\n\r\n']],
    ['negative chunk size', [head('POST', jobs, { ...host, 'transfer-encoding': 'chunked' }), '-1\r\nabc\r\n0\r\n\r\n']],
    ['huge chunk size', [head('POST', jobs, { ...host, 'transfer-encoding': 'chunked' }), 'ffffffffffffffffffff\r\nabc\r\n']],
    ['chunk extension of 20 KB', [head('POST', jobs, { ...host, 'transfer-encoding': 'chunked' }), `3;${'e'.repeat(20_000)}\r\nabc\r\n0\r\n\r\n`]],
    ['huge Content-Length', [head('POST', jobs, { ...host, 'content-length': '99999999999999999999999' }), 'abc']],
    ['Content-Length 2^53', [head('PUT', '/-/vaults/fz/multipart-uploads/x', { ...host, 'content-length': '9007199254740993' }), 'abc']],
    ['negative Content-Length', [head('POST', jobs, { ...host, 'content-length': '-5' }), 'abc']],
    ['Content-Length 1e3', [head('POST', jobs, { ...host, 'content-length': '1e3' }), 'abc']],
    ['two Content-Lengths', ['POST /-/vaults/fz/jobs HTTP/1.1\r\nhost: a\r\ncontent-length: 3\r\ncontent-length: 5\r\n\r\nabcde']],
    ['Content-Length and chunked', [head('POST', jobs, { ...host, 'content-length': '3', 'transfer-encoding': 'chunked' }), '3\r\nabc\r\n0\r\n\r\n']],
    ['64 KiB header', [head('GET', '/-/vaults', { ...host, 'x-big': 'a'.repeat(64 * 1024) })]],
    ['5000 headers', [head('GET', '/-/vaults', { ...host, ...Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`x-h${i}`, 'v'])) })]],
    ['100 KiB path', [head('GET', '/-/vaults/' + 'a'.repeat(100 * 1024), host)]],
    ['NUL byte in the path', [Buffer.from('GET /-/vaults/a\0b HTTP/1.1\r\nhost: a\r\n\r\n', 'latin1')]],
    ['%00 in the path', [head('GET', '/-/vaults/a%00b', host)]],
    ['%00 as the vault', [head('PUT', '/-/vaults/%00', host)]],
    ['dot segments above the root', [head('GET', '/../../etc/passwd', host)]],
    ['dot segments inside', [head('GET', '/-/vaults/./fz/../../vaults/fz', host)]],
    ['encoded dot segment', [head('DELETE', '/-/vaults/%2e%2E', host)]],
    ['bad percent-encoding', [head('GET', '/-/vaults/%zz%', host)]],
    ['invalid UTF-8 in the path', [head('GET', '/-/vaults/%ff%fe', host)]],
    ['absolute-form target', [head('GET', 'http://example.com/-/vaults', host)]],
    ['asterisk target', [head('OPTIONS', '*', host)]],
    ['unknown method', [head('BREW', '/-/vaults', host)]],
    ['HTTP/1.0 without Host', ['GET /-/vaults HTTP/1.0\r\n\r\n']],
    ['not HTTP at all', ['\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03']],
    ['garbage Authorization', [head('GET', '/-/vaults', { ...host, authorization: '\x01\x02garbage' })]],
    ['Basic Authorization', [head('GET', '/-/vaults', { ...host, authorization: 'Basic YWxhZGRpbjpvcGVuc2VzYW1l' })]],
    ['empty SigV4 fields', [head('GET', '/-/vaults', { ...host, authorization: 'AWS4-HMAC-SHA256 Credential=, SignedHeaders=, Signature=' })]],
    ['SigV4 with a 10 KB scope', [head('GET', '/-/vaults', { ...host, authorization: `AWS4-HMAC-SHA256 Credential=${'A/'.repeat(5000)}, SignedHeaders=host, Signature=${'0'.repeat(64)}` })]],
    ['SigV4 signing a header not sent', [head('GET', '/-/vaults', { ...host, 'x-amz-date': '20200101T000000Z', authorization: `AWS4-HMAC-SHA256 Credential=${TEST_KEY}/20200101/us-east-1/glacier/aws4_request, SignedHeaders=host;x-nothing, Signature=${'0'.repeat(64)}` })]],
    ['SigV4 of a real key, current date, wrong signature', [head('POST', jobs, { ...host, 'x-amz-date': new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, ''), 'content-length': '2', authorization: `AWS4-HMAC-SHA256 Credential=${TEST_KEY}/${new Date().toISOString().slice(0, 10).replace(/-/g, '')}/us-east-1/glacier/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}` }), '{}']],
    ['Expect: 100-continue, unsigned', [head('POST', jobs, { ...host, expect: '100-continue', 'content-length': '50000' })]],
    ['bad x-amz-content-sha256', [head('POST', '/-/vaults/fz/archives', { ...host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'content-length': '3' }), 'abc']],
    ['pipelined requests after a refused body', [head('POST', jobs, { ...host, 'content-length': '5' }), 'abcde', head('GET', '/-/vaults', host), head('GET', '/-/vaults', host)]],
  ];
  for (const [what, parts] of garbage) await run(what, parts);
  for (const [what, parts] of garbage.slice(0, 10)) await run(`${what}, cut short`, parts, { end: true });

  assert.ok(cases > 250, `${cases} hostile requests`);
  assert.deepEqual(escaped.map(String), [], 'no unhandled rejection');
  const errors = logged.filter((l) => l.level >= 50);
  assert.deepEqual(errors, [], 'no request reached an unexpected error');
});

test('unsigned and wrongly signed requests are refused before their body is read', async () => {
  const path = '/-/vaults/fz/jobs';
  const declared = { 'content-length': '50000', 'content-type': 'application/json' };
  // Only the head is sent: an answer can only come from the headers.
  const unsigned = await exchange(s.port, [head('POST', path, { host: `127.0.0.1:${s.port}`, 'x-amz-glacier-version': '2012-06-01', ...declared })], { quietMs: 3000 });
  assert.equal(unsigned.status, 400, unsigned.text);
  assert.match(unsigned.text, /MissingAuthenticationTokenException/);
  assert.ok(unsigned.closedByServer, 'the connection is closed: the unread body cannot become the next request');

  const wrongSecret = await signHeaders(s.port, BAD_CREDS, 'POST', path, { ...declared, 'x-amz-content-sha256': sha('x') });
  const r1 = await exchange(s.port, [head('POST', path, wrongSecret)], { quietMs: 3000 });
  assert.equal(r1.status, 403, r1.text);
  assert.match(r1.text, /InvalidSignatureException/);

  // No x-amz-content-sha256 (botocore's JSON requests): what the headers decide is still decided first.
  const expired = await signHeaders(s.port, s.creds, 'POST', path, declared, { body: Buffer.alloc(50000, 0x20), signingDate: new Date(Date.now() - 20 * 60_000) });
  const r2 = await exchange(s.port, [head('POST', path, expired)], { quietMs: 3000 });
  assert.equal(r2.status, 403, r2.text);
  assert.match(r2.text, /Signature expired/);
  const unknownKey = await signHeaders(s.port, { accessKeyId: 'AKIANOSUCHKEY0000000', secretAccessKey: 'x'.repeat(40) }, 'POST', path, declared, { body: Buffer.alloc(50000, 0x20) });
  const r3 = await exchange(s.port, [head('POST', path, unknownKey)], { quietMs: 3000 });
  assert.equal(r3.status, 400, r3.text);
  assert.match(r3.text, /UnrecognizedClientException/);

  // …while botocore's way (the signature covers the body's hash, no header claims it) still works.
  const ok = await s.request({ method: 'POST', path: '/-/vaults/fz/tags', query: { operation: 'add' }, body: JSON.stringify({ Tags: { a: 'b' } }) });
  assert.equal(ok.status, 204, ok.body.toString());
  const tampered = await signHeaders(s.port, s.creds, 'POST', '/-/vaults/fz/tags', { 'content-length': '20' }, { query: { operation: 'add' }, body: Buffer.from('{"Tags":{"a":"c"}}  ') });
  const r4 = await exchange(s.port, [head('POST', '/-/vaults/fz/tags?operation=add', tampered), '{"Tags":{"a":"X"}}  ']);
  assert.equal(r4.status, 403, r4.text);
});

test(`JSON bodies over ${MAX_JSON_BODY} bytes → 413 before they are buffered; a 20 KB policy fits`, async () => {
  const path = '/-/vaults/fz/access-policy';
  const declared = await signHeaders(s.port, s.creds, 'PUT', path, { 'content-length': String(MAX_JSON_BODY + 1), 'x-amz-content-sha256': sha('') });
  const r1 = await exchange(s.port, [head('PUT', path, declared)], { quietMs: 3000 });
  assert.equal(r1.status, 413, r1.text);
  assert.match(r1.text, /"code":"InvalidParameterValueException"/);
  assert.ok(r1.closedByServer);
  const big = Buffer.alloc(MAX_JSON_BODY + 10, 0x20);
  const chunkedHdrs = await signHeaders(s.port, s.creds, 'PUT', path, { 'transfer-encoding': 'chunked', 'x-amz-content-sha256': sha(big) });
  const r2 = await exchange(s.port, [head('PUT', path, chunkedHdrs), ...chunked(big).slice(0, 2)], { quietMs: 3000 });
  assert.equal(r2.status, 413, r2.text);

  // The largest policy AWS allows (20 KB), with characters JSON must escape.
  const statement = (i: number) => ({ Sid: `s${i}`, Principal: '*', Effect: 'Deny', Action: 'glacier:DeleteArchive', Resource: '*', Condition: { StringLike: { 'aws:username': '"quoted"\\name' } } });
  const statements = [];
  for (let i = 0; JSON.stringify({ Version: '2012-10-17', Statement: statements }).length < 19_500; i++) statements.push(statement(i));
  const policy = JSON.stringify({ Version: '2012-10-17', Statement: statements });
  const r3 = await s.request({ method: 'PUT', path, body: JSON.stringify({ Policy: policy }) });
  assert.equal(r3.status, 204, r3.body.toString());
});

test('a JSON body that stalls → 408 and the connection is closed', async () => {
  const path = '/-/vaults/fz/jobs';
  const body = Buffer.from(JSON.stringify({ Type: 'inventory-retrieval' }));
  const hdrs = await signHeaders(s.port, s.creds, 'POST', path, { 'content-length': String(body.length), 'content-type': 'application/json' }, { body });
  const r = await exchange(s.port, [head('POST', path, hdrs), body.subarray(0, 5)], { quietMs: 10_000 });
  assert.equal(r.status, 408, r.text);
  assert.match(r.text, /RequestTimeoutException/);
  assert.ok(r.closedByServer);
});

test('headers that trickle in are cut off', async () => {
  const { createConnection } = await import('node:net');
  const sock = createConnection(s.port, '127.0.0.1');
  let received = '';
  sock.on('data', (c: Buffer) => (received += c.toString('latin1')));
  sock.write(`GET /-/vaults HTTP/1.1\r\nhost: 127.0.0.1:${s.port}\r\n`);
  // One header line every 100 ms, for up to 15 s; headersTimeout is 1 s.
  const closed = await new Promise<boolean>((resolve) => {
    const timer = setInterval(() => sock.write('x-slow: 1\r\n'), 100);
    const give = setTimeout(() => finish(false), 15_000);
    const finish = (v: boolean) => {
      clearInterval(timer);
      clearTimeout(give);
      resolve(v);
    };
    sock.on('close', () => finish(true));
    sock.on('error', () => finish(true));
  });
  sock.destroy();
  assert.ok(closed, 'the server closed the connection');
  assert.match(received, /^HTTP\/1\.1 408/);
});

test('one canonical path for signature and routing: dot segments resolved, what cannot be canonicalised refused', async () => {
  // SigV4 signers resolve dot segments and drop empty ones; the request must be routed as signed.
  const up = await s.request({ method: 'GET', path: '/-/vaults/fz/..' });
  assert.equal(up.status, 200, up.body.toString());
  assert.ok(Array.isArray(up.json().VaultList), 'routed as ListVaults, the path that was signed');
  const dbl = await s.request({ method: 'GET', path: '/-//vaults//fz' });
  assert.equal(dbl.status, 200, dbl.body.toString());
  assert.equal(dbl.json().VaultName, 'fz');
  for (const bad of ['/..', '/-/vaults/../../..', '/-/vaults/%2E%2E', '/-/vaults/.%2e/x', '/-/vaults/%2e']) {
    const r = await s.request({ method: 'GET', path: bad, sign: false });
    assert.equal(r.status, 400, `${bad}: ${r.body.toString()}`);
    assert.equal(r.json().code, 'InvalidParameterValueException');
  }
});
