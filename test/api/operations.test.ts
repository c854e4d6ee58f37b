import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { startTestServer, TEST_ACCOUNT, TEST_KEY, TEST_SECRET, type TestServer } from '../helpers/server.js';
import { uploadArchive } from '../helpers/uploads.js';
import { createLogger } from '../../src/lib/logger.js';
import * as admin from '../../src/auth/admin.js';
import type { SqliteMetadataStore } from '../../src/storage/metadata/sqlite/index.js';
import { dropSchema, freshSchemaUrl, onPostgres } from '../helpers/metadata.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

// Operator endpoints: /_firn/metrics, /_firn/health, /_firn/ready, and the access log line.

const logLines: Record<string, unknown>[] = [];
let s: TestServer;

before(async () => {
  const sink = new PassThrough();
  let buf = '';
  sink.on('data', (c: Buffer) => {
    buf += c.toString('utf8');
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      logLines.push(JSON.parse(buf.slice(0, i)) as Record<string, unknown>);
      buf = buf.slice(i + 1);
    }
  });
  s = await startTestServer({ log: createLogger('info', sink), config: { timingStandard: 3_600_000 } });
});
after(async () => {
  await s.close();
});

async function scrape(server: TestServer = s, headers: Record<string, string> = {}): Promise<{ status: number; text: string; type: string }> {
  const r = await fetch(`${server.url}/_firn/metrics`, { headers });
  return { status: r.status, text: await r.text(), type: r.headers.get('content-type') ?? '' };
}

/** The value of one sample, e.g. value(text, 'firn_http_requests_total', {operation: 'ListVaults', code: '200'}); 0 when absent. */
function value(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return 0;
}

test('a request counter moves by exactly the number of requests made, per operation and status', async () => {
  const before = (await scrape()).text;
  for (let i = 0; i < 3; i++) assert.equal((await s.request({ method: 'GET', path: '/-/vaults' })).status, 200);
  for (let i = 0; i < 2; i++) assert.equal((await s.request({ method: 'GET', path: '/-/vaults/absent-vault' })).status, 404);
  const after = (await scrape()).text;
  const delta = (name: string, labels: Record<string, string>) => value(after, name, labels) - value(before, name, labels);
  assert.equal(delta('firn_http_requests_total', { operation: 'ListVaults', code: '200' }), 3);
  assert.equal(delta('firn_http_requests_total', { operation: 'DescribeVault', code: '404' }), 2);
  assert.equal(delta('firn_http_request_errors_total', { operation: 'DescribeVault', error: 'ResourceNotFoundException' }), 2);
  assert.equal(delta('firn_http_request_duration_seconds_count', { operation: 'ListVaults' }), 3);
  // Scrapes themselves are not counted as API requests.
  assert.equal(value(after, 'firn_http_requests_total', { operation: 'Unknown', code: '404' }), 0);
});

test('storage gauges count archives, bytes and queued jobs; no label carries a vault name, archive id or key', async () => {
  const vault = 'metrics-secret-vault-name';
  assert.equal((await s.request({ method: 'PUT', path: `/-/vaults/${vault}` })).status, 201);
  const before = (await scrape()).text;
  const data = Buffer.alloc(3000, 7);
  const up = await uploadArchive(s, vault, data);
  assert.equal(up.status, 201);
  const archiveId = String(up.headers['x-amz-archive-id']);
  const job = await s.request({
    method: 'POST',
    path: `/-/vaults/${vault}/jobs`,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ Type: 'archive-retrieval', ArchiveId: archiveId, Tier: 'Standard' }),
  });
  assert.equal(job.status, 202);
  const { status, text, type } = await scrape();
  assert.equal(status, 200);
  assert.match(type, /^text\/plain; version=0\.0\.4/);
  assert.equal(value(text, 'firn_archives') - value(before, 'firn_archives'), 1);
  assert.equal(value(text, 'firn_archive_bytes') - value(before, 'firn_archive_bytes'), 3000);
  assert.equal(value(text, 'firn_http_request_body_bytes_total', { operation: 'UploadArchive' }) - value(before, 'firn_http_request_body_bytes_total', { operation: 'UploadArchive' }), 3000);
  assert.equal(value(text, 'firn_job_queue_depth'), 1);
  assert.equal(value(text, 'firn_jobs', { status: 'InProgress' }), 1);
  assert.equal(value(text, 'firn_job_queue_oldest_due_age_seconds'), 0, 'the job is due in an hour, not yet');
  assert.ok(value(text, 'process_resident_memory_bytes') > 0, 'process defaults are exported');
  assert.ok(value(text, 'nodejs_eventloop_lag_seconds') >= 0);
  for (const secret of [vault, archiveId, TEST_KEY, TEST_SECRET, TEST_ACCOUNT, job.headers['x-amz-job-id'] as string]) {
    assert.ok(!text.includes(secret), `metrics must not contain ${secret.slice(0, 20)}…`);
  }

  // Two hours later (domain time) the job has been due for an hour; the engine is stopped so it stays queued.
  await s.running.app.jobs.stop();
  s.clock.advance(2 * 3_600_000);
  const later = (await scrape()).text;
  const age = value(later, 'firn_job_queue_oldest_due_age_seconds');
  assert.ok(age >= 3600 && age < 3600 + 600, `oldest due age ${age}`);
});

test('FIRN_METRICS=false turns the endpoint off; FIRN_METRICS_TOKEN requires the bearer token', async () => {
  const off = await startTestServer({ config: { metrics: false } });
  try {
    assert.equal((await scrape(off)).status, 404);
  } finally {
    await off.close();
  }
  const token = 'metrics-token-0123456789abcdef';
  const guarded = await startTestServer({ config: { metricsToken: token } });
  try {
    const none = await scrape(guarded);
    assert.equal(none.status, 401);
    assert.ok(!none.text.includes('firn_'));
    assert.equal((await scrape(guarded, { authorization: 'Bearer wrong-token-0123456789abcdef' })).status, 401);
    const ok = await scrape(guarded, { authorization: `Bearer ${token}` });
    assert.equal(ok.status, 200);
    assert.match(ok.text, /^# TYPE firn_http_requests_total counter$/m);
  } finally {
    await guarded.close();
  }
});

test('health is alive; ready turns 503 with the reason while storage is unreachable, and back', async () => {
  // On PostgreSQL the server reaches its schema through a proxy this test can cut (a network outage).
  const schema = onPostgres() ? await freshSchemaUrl() : undefined;
  const proxy = schema ? await TcpProxy.start({ host: new URL(schema).hostname, port: Number(new URL(schema).port || 5432) }) : undefined;
  const proxied = schema && proxy ? Object.assign(new URL(schema), { hostname: '127.0.0.1', port: String(proxy.port) }).toString() : undefined;
  const t = await startTestServer(proxied ? { config: { metadataUrl: proxied } } : {});
  try {
    const get = async (p: string) => {
      const r = await fetch(`${t.url}${p}`);
      return { status: r.status, body: (await r.json()) as { status: string; reason?: string; dependencies?: { metadata: string; blobs: string } } };
    };
    const kind = onPostgres() ? 'postgres' : 'sqlite';
    assert.deepEqual(await get('/_firn/health'), {
      status: 200,
      body: { status: 'ok', storage: { metadata: kind, blobs: 'fs' }, dependencies: { metadata: 'ok', blobs: 'ok' } },
    });
    assert.equal((await get('/_firn/ready')).status, 200);

    // The blob directory goes away (an unmounted volume): not ready, and says why.
    const blobs = join(t.dataDir, 'blobs');
    renameSync(blobs, blobs + '.gone');
    const gone = await get('/_firn/ready');
    assert.equal(gone.status, 503);
    assert.equal(gone.body.status, 'unavailable');
    assert.match(gone.body.reason!, /^blob store unreachable: ENOENT/);
    assert.ok(!gone.body.reason!.includes(t.dataDir), 'no paths in the reason');
    const liveGone = await get('/_firn/health');
    assert.equal(liveGone.status, 200, 'liveness does not depend on storage');
    assert.equal(liveGone.body.dependencies!.metadata, 'ok');
    assert.match(liveGone.body.dependencies!.blobs, /^blob store unreachable: ENOENT/, 'health names the dependency that is down');
    renameSync(blobs + '.gone', blobs);
    assert.equal((await get('/_firn/ready')).status, 200);

    if (proxy) {
      // PostgreSQL goes away (every connection dropped, new ones refused): not ready; once it is
      // back, the server reconnects on its own and is ready again.
      proxy.cut();
      const cut = await get('/_firn/ready');
      assert.equal(cut.status, 503);
      assert.match(cut.body.reason!, /^metadata store unreachable/);
      const liveCut = await get('/_firn/health');
      assert.equal(liveCut.status, 200, 'liveness does not depend on storage');
      assert.match(liveCut.body.dependencies!.metadata, /^metadata store unreachable/);
      assert.equal(liveCut.body.dependencies!.blobs, 'ok');
      proxy.restore();
      assert.equal((await get('/_firn/ready')).status, 200, 'ready again once PostgreSQL is reachable');
    } else {
      // The metadata database cannot be read.
      (t.running.app.store as SqliteMetadataStore).db.close();
      const closed = await get('/_firn/ready');
      assert.equal(closed.status, 503);
      assert.match(closed.body.reason!, /^metadata store unreachable/);
    }
  } finally {
    await t.close();
    await proxy?.close();
    if (schema) await dropSchema(schema);
  }
});

test('the access log names the operation, the error code and, for refusals, the reason; never a secret', async () => {
  const store = s.running.app.store;
  const now = Date.now();
  await admin.createUser(store, TEST_ACCOUNT, 'denied-user', now);
  const denied = await admin.createAccessKey(store, TEST_ACCOUNT, 'denied-user', now);
  await admin.putUserPolicy(store, TEST_ACCOUNT, 'denied-user', 'no-list', JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'NoList', Effect: 'Deny', Action: 'glacier:ListVaults', Resource: '*' }] }), now);
  const disabled = await admin.createAccessKey(store, TEST_ACCOUNT, 'denied-user', now);
  await admin.setAccessKeyStatus(store, disabled.accessKeyId, 'Inactive');
  const asCreds = (c: admin.NewCredentials) => ({ accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey });

  const cases = [
    { r: { creds: asCreds(denied) }, code: 'AccessDeniedException', reason: /^explicit deny in identity policy, statement NoList$/ },
    { r: { creds: asCreds(disabled) }, code: 'UnrecognizedClientException', reason: new RegExp(`^access key ${disabled.accessKeyId} is disabled$`) },
    { r: { creds: { accessKeyId: 'AKIANOSUCHKEY0000000', secretAccessKey: 'x'.repeat(40) } }, code: 'UnrecognizedClientException', reason: /^unknown access key AKIANOSUCHKEY0000000$/ },
    { r: { creds: { accessKeyId: TEST_KEY, secretAccessKey: 'wrong'.repeat(8) } }, code: 'InvalidSignatureException', reason: /^signature mismatch/ },
    { r: { signingDate: new Date(Date.now() - 20 * 60_000) }, code: 'InvalidSignatureException', message: /^Signature expired/ },
  ];
  for (const c of cases) {
    const r = await s.request({ method: 'GET', path: '/-/vaults', ...c.r });
    const reqId = r.headers['x-amzn-requestid'];
    const line = logLines.find((l) => l.reqId === reqId);
    assert.ok(line, `an access log line for ${c.code}`);
    assert.equal(line.msg, 'request');
    assert.equal(line.op, 'ListVaults');
    assert.equal(line.status, r.status);
    assert.equal(line.error, c.code);
    if (c.reason) assert.match(String(line.reason), c.reason);
    if (c.message) assert.match(String(line.message), c.message);
  }
  const ok = await s.request({ method: 'GET', path: '/-/vaults' });
  const okLine = logLines.find((l) => l.reqId === ok.headers['x-amzn-requestid'])!;
  assert.equal(okLine.status, 200);
  assert.equal(okLine.error, undefined);
  assert.equal(okLine.key, TEST_KEY);
  const all = JSON.stringify(logLines);
  for (const secret of [TEST_SECRET, denied.secretAccessKey, disabled.secretAccessKey, 'Signature=']) assert.ok(!all.includes(secret), 'no secret in the log');
});
