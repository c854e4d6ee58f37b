import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { ManualClock, OffsetClock } from '../../src/lib/clock.js';
import { createLogger, silentLogger } from '../../src/lib/logger.js';
import { SqliteMetadataStore } from '../../src/storage/metadata/sqlite/index.js';
import { NotificationWorker, retryDelay, type Router } from '../../src/notify/worker.js';
import {
  notificationMessageId,
  SinkRouter,
  WebhookSink,
  webhookSignature,
  SIGNATURE_HEADER,
  topicRegion,
  type Notification,
  type Sink,
} from '../../src/notify/sinks.js';
import { globToRegExp, parseSinkRules } from '../../src/notify/rules.js';
import { loadConfig, ConfigError } from '../../src/config/load.js';

const TOPIC = 'arn:aws:sns:us-east-1:111122223333:glacier-jobs';
const MESSAGE = JSON.stringify({ Action: 'ArchiveRetrieval', JobId: 'J'.repeat(92), StatusCode: 'Succeeded' });

/** A sink that records what it got and fails while `failing` is true. */
class FakeSink implements Sink {
  readonly kind = 'log' as const;
  received: Notification[] = [];
  failing = false;
  async deliver(n: Notification) {
    if (this.failing) throw new Error('connect ECONNREFUSED 127.0.0.1:9');
    this.received.push(n);
  }
}

function fakeRouter(sink: Sink): Router {
  return { route: () => sink, close: () => {} };
}

function worker(store: SqliteMetadataStore, clock: ManualClock | OffsetClock, sink: Sink, log = silentLogger(), warnAfter = 3) {
  return new NotificationWorker({
    outbox: store.outbox,
    router: fakeRouter(sink),
    clock,
    log,
    pollMs: 1000,
    retryBaseMs: 5000,
    retryMaxMs: 60_000,
    timeoutMs: 2000,
    warnAfter,
    exclusive: true,
  });
}

function capture() {
  const lines: any[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { log: createLogger('debug', stream), lines };
}

test('glob patterns: * spans colons, ? is one character, the rest is literal', () => {
  assert.ok(globToRegExp('*').test(TOPIC));
  assert.ok(globToRegExp('arn:aws:sns:*:*:glacier-*').test(TOPIC));
  assert.ok(!globToRegExp('arn:aws:sns:eu-*:*:glacier-*').test(TOPIC));
  assert.ok(globToRegExp('arn:aws:sns:us-east-?:111122223333:glacier-jobs').test(TOPIC));
  assert.ok(!globToRegExp('arn:aws:sns:us.east.1:*').test(TOPIC), 'dots are literal');
});

test('FIRN_NOTIFY_SINKS is validated at start-up', () => {
  const ok = loadConfig({
    FIRN_NOTIFY_SINKS: JSON.stringify([
      { topic: 'arn:aws:sns:*:*:ops-*', sink: 'webhook', url: 'http://127.0.0.1:8080/hook', secret: 's3cret' },
      { topic: '*', sink: 'sns', endpoint: 'http://127.0.0.1:5000', region: 'us-east-1', accessKeyId: 'test', secretAccessKey: 'test' },
    ]),
  });
  assert.equal(ok.notifySinks.length, 2);
  assert.equal(ok.notifySinks[0]!.sink, 'webhook');
  assert.deepEqual(loadConfig({}).notifySinks, []);
  const bad: [string, RegExp][] = [
    ['not json', /JSON list/],
    ['{"topic":"*"}', /JSON list/],
    ['[{"sink":"log"}]', /"topic"/],
    ['[{"topic":"*","sink":"email"}]', /"sink" must be/],
    ['[{"topic":"*","sink":"webhook","url":"ftp://x","secret":"k"}]', /http\(s\) URL/],
    ['[{"topic":"*","sink":"webhook","url":"http://x"}]', /secret/],
    ['[{"topic":"*","sink":"sns","accessKeyId":"a"}]', /go together/],
  ];
  for (const [raw, re] of bad) {
    assert.throws(() => loadConfig({ FIRN_NOTIFY_SINKS: raw }), (e: Error) => e instanceof ConfigError && /FIRN_NOTIFY_SINKS/.test(e.message) && re.test(e.message), raw);
  }
  assert.deepEqual(parseSinkRules('[{"topic":"*","sink":"log"}]'), [{ topic: '*', sink: 'log' }]);
});

test('router: first matching rule wins, unmatched topics go to the log', () => {
  const r = new SinkRouter(
    [
      { topic: 'arn:aws:sns:*:*:hook-*', sink: 'webhook', url: 'http://127.0.0.1:1/', secret: 'k' },
      { topic: 'arn:aws:sns:*:*:hook-*', sink: 'sns' },
      { topic: 'arn:aws:sns:eu-west-1:*', sink: 'sns', endpoint: 'http://127.0.0.1:2' },
    ],
    { log: silentLogger(), timeoutMs: 1000 },
  );
  assert.equal(r.route('arn:aws:sns:us-east-1:111122223333:hook-a').kind, 'webhook');
  assert.equal(r.route('arn:aws:sns:eu-west-1:111122223333:x').kind, 'sns');
  assert.equal(r.route(TOPIC).kind, 'log');
  r.close();
  assert.equal(topicRegion(TOPIC), 'us-east-1');
  assert.equal(topicRegion('nonsense'), undefined);
});

test('retry delay doubles from the base, is capped, and jitters by at most 10 %', () => {
  const none = () => 0;
  assert.deepEqual([1, 2, 3, 4, 5, 6].map((a) => retryDelay(a, 5000, 60_000, none)), [5000, 10_000, 20_000, 40_000, 60_000, 60_000]);
  assert.equal(retryDelay(1, 5000, 60_000, () => 0.999), 5500);
  assert.equal(retryDelay(10_000, 5000, 3_600_000, none), 3_600_000, 'huge attempt counts do not overflow');
  assert.equal(retryDelay(1, 0, 0, none), 50, 'a zero base still waits a little');
});

test('log sink: one info line with the topic, the message id and the DescribeJob JSON', async () => {
  const { log, lines } = capture();
  const r = new SinkRouter([], { log, timeoutMs: 1000 });
  const n: Notification = { id: 3, topicArn: TOPIC, message: MESSAGE, createdAt: 0, attempts: 1 };
  await r.route(TOPIC).deliver(n, AbortSignal.timeout(1000));
  assert.equal(lines.length, 1);
  assert.equal(lines[0].level, 30);
  assert.equal(lines[0].topicArn, TOPIC);
  assert.equal(lines[0].messageId, notificationMessageId(n));
  assert.equal(lines[0].notification, MESSAGE);
});

test('the message id is a stable UUID per outbox row', () => {
  const a = notificationMessageId({ id: 1, topicArn: TOPIC, message: MESSAGE });
  assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(notificationMessageId({ id: 1, topicArn: TOPIC, message: MESSAGE }), a);
  assert.notEqual(notificationMessageId({ id: 2, topicArn: TOPIC, message: MESSAGE }), a, 'two destinations of one job are two messages');
});

test('worker delivers each due row once and marks it delivered', async () => {
  const store = new SqliteMetadataStore(':memory:');
  const clock = new ManualClock();
  const sink = new FakeSink();
  const w = worker(store, clock, sink);
  await store.outbox.enqueue(
    [
      { topicArn: TOPIC, message: MESSAGE },
      { topicArn: 'arn:aws:sns:us-east-1:111122223333:vault-topic', message: MESSAGE },
    ],
    clock.now(),
  );
  assert.equal(await w.deliverDue(), 2);
  assert.equal(await w.deliverDue(), 0);
  assert.equal(sink.received.length, 2);
  assert.deepEqual(sink.received.map((n) => n.topicArn).sort(), ['arn:aws:sns:us-east-1:111122223333:glacier-jobs', 'arn:aws:sns:us-east-1:111122223333:vault-topic']);
  assert.equal(sink.received[0]!.message, MESSAGE, 'the DescribeJob JSON goes out verbatim');
  const row = (await store.outbox.get(sink.received[0]!.id))!;
  assert.equal(row.deliveredAt, clock.now());
  assert.equal(row.attempts, 1);
  assert.equal(await store.outbox.pendingCount(), 0);
  await w.stop();
  await store.close();
});

test('failures back off on the injected clock and are logged as warnings once they keep failing', async () => {
  const store = new SqliteMetadataStore(':memory:');
  const clock = new ManualClock();
  const sink = new FakeSink();
  const { log, lines } = capture();
  const w = worker(store, clock, sink, log, 2);
  sink.failing = true;
  await store.outbox.enqueue([{ topicArn: TOPIC, message: MESSAGE }], clock.now());
  const t0 = clock.now();

  assert.equal(await w.deliverDue(), 0);
  let row = (await store.outbox.get(1))!;
  assert.equal(row.attempts, 1);
  assert.match(row.lastError!, /ECONNREFUSED/);
  assert.ok(row.nextAttemptAt >= t0 + 5000 && row.nextAttemptAt <= t0 + 5500, `first retry after 5 s (+jitter): ${row.nextAttemptAt - t0}`);
  assert.equal(lines.filter((l) => l.level === 40).length, 0, 'the first failure is not a warning yet');

  clock.advance(4000);
  assert.equal(await w.deliverDue(), 0);
  assert.equal((await store.outbox.get(1))!.attempts, 1, 'not retried before its time');

  clock.advance(1600);
  await w.deliverDue();
  row = (await store.outbox.get(1))!;
  assert.equal(row.attempts, 2);
  assert.ok(row.nextAttemptAt - clock.now() >= 10_000 && row.nextAttemptAt - clock.now() <= 11_000, 'second retry after 10 s');
  const warn = lines.find((l) => l.level === 40);
  assert.ok(warn, 'the second failure (warnAfter 2) is a warning');
  assert.equal(warn.topicArn, TOPIC);
  assert.equal(warn.attempts, 2);
  assert.match(warn.error, /ECONNREFUSED/);

  sink.failing = false;
  clock.advance(11_000);
  assert.equal(await w.deliverDue(), 1);
  row = (await store.outbox.get(1))!;
  assert.equal(row.attempts, 3);
  assert.notEqual(row.deliveredAt, null);
  assert.equal(sink.received.length, 1);
  await w.stop();
  await store.close();
});

test('the outbox survives a restart; a row claimed by a process that died is retried after its lease', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'firn-outbox-'));
  try {
    const clock = new ManualClock();
    let store = new SqliteMetadataStore(join(dir, 'meta.db'));
    await store.outbox.enqueue([{ topicArn: TOPIC, message: MESSAGE }, { topicArn: TOPIC, message: MESSAGE + ' ' }], clock.now());
    // A worker claims the second row and "dies" before marking it.
    const claimed = await store.outbox.claimDue(clock.now(), 1, 15_000);
    assert.equal(claimed.length, 1);
    await store.close();

    store = new SqliteMetadataStore(join(dir, 'meta.db'));
    const sink = new FakeSink();
    const w = worker(store, clock, sink);
    assert.equal(await w.deliverDue(), 1, 'the unclaimed row goes out at once');
    assert.notEqual(sink.received[0]!.id, claimed[0]!.id);
    clock.advance(15_000);
    assert.equal(await w.deliverDue(), 1, 'the leased row goes out once its lease lapsed');
    assert.equal(sink.received[1]!.id, claimed[0]!.id);
    assert.equal(sink.received[1]!.attempts, 2);
    assert.equal(await store.outbox.pendingCount(), 0);
    await w.stop();
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a (re)started worker retries at once what was backing off or leased by a killed process', async () => {
  const store = new SqliteMetadataStore(':memory:');
  const clock = new ManualClock();
  await store.outbox.enqueue([{ topicArn: TOPIC, message: MESSAGE }, { topicArn: TOPIC, message: MESSAGE + ' ' }], clock.now());
  // Row 1 failed and backs off for an hour; row 2 is leased by a process that died.
  await store.outbox.claimDue(clock.now(), 2, 15_000);
  await store.outbox.markFailed(1, 'HTTP 503', clock.now() + 3_600_000);
  const sink = new FakeSink();
  const { log, lines } = capture();
  const w = worker(store, clock, sink, log);
  w.start();
  await until(async () => sink.received.length === 2);
  assert.equal(clock.now(), Date.UTC(2026, 0, 15, 12, 0, 0), 'without moving the clock');
  assert.ok(lines.some((l) => l.pending === 2), 'start-up logs how many were pending');
  await w.stop();
  // Shared storage (several servers on one database): backed-off rows keep their schedule.
  await store.outbox.enqueue([{ topicArn: TOPIC, message: 'later' }], clock.now());
  const [row] = await store.outbox.claimDue(clock.now(), 1, 0);
  await store.outbox.markFailed(row!.id, 'HTTP 503', clock.now() + 3_600_000);
  const sink2 = new FakeSink();
  const w2 = new NotificationWorker({
    outbox: store.outbox,
    router: fakeRouter(sink2),
    clock,
    log: silentLogger(),
    pollMs: 20,
    retryBaseMs: 5000,
    retryMaxMs: 60_000,
    timeoutMs: 2000,
    warnAfter: 3,
    exclusive: false,
  });
  w2.start();
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(sink2.received.length, 0);
  await w2.stop();
  await store.close();
});

test('started worker delivers on its own and wakes up when the clock is advanced', async () => {
  const store = new SqliteMetadataStore(':memory:');
  const clock = new OffsetClock();
  const sink = new FakeSink();
  const w = new NotificationWorker({
    outbox: store.outbox,
    router: fakeRouter(sink),
    clock,
    log: silentLogger(),
    pollMs: 60_000,
    retryBaseMs: 3_600_000,
    retryMaxMs: 3_600_000,
    timeoutMs: 2000,
    warnAfter: 3,
    exclusive: true,
  });
  w.start();
  sink.failing = true;
  await store.outbox.enqueue([{ topicArn: TOPIC, message: MESSAGE }], clock.now());
  w.wake();
  await until(async () => (await store.outbox.get(1))!.attempts === 1);
  sink.failing = false;
  // The retry is an hour away in domain time; moving the clock must deliver it without a poll.
  clock.advance(3_600_000 * 1.2);
  await until(async () => sink.received.length === 1);
  await w.stop();
  await store.close();
});

test("an 'outbox' signal of the store wakes the worker: rows written elsewhere go out without a poll or a local wake()", async () => {
  const store = new SqliteMetadataStore(':memory:');
  const clock = new ManualClock();
  const sink = new FakeSink();
  const w = new NotificationWorker({
    outbox: store.outbox,
    router: fakeRouter(sink),
    clock,
    log: silentLogger(),
    pollMs: 3_600_000,
    retryBaseMs: 5000,
    retryMaxMs: 60_000,
    timeoutMs: 2000,
    warnAfter: 3,
    exclusive: false,
    signals: store.signals,
  });
  w.start();
  // Let the start-up pass find the outbox empty and settle on the hour-long poll.
  await w.deliverDue();
  await store.outbox.enqueue([{ topicArn: TOPIC, message: MESSAGE }], clock.now());
  await until(async () => sink.received.length === 1);
  await w.stop();
  await store.close();
});

test('webhook sink: SNS-style envelope, HMAC-SHA256 signature a receiver can verify, non-2xx is a failure', async () => {
  const got: { headers: IncomingMessage['headers']; body: string }[] = [];
  let status = 200;
  const srv = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.statusCode = status;
      res.end();
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/glacier`;
  try {
    const sink = new WebhookSink({ topic: '*', sink: 'webhook', url, secret: 'hook-secret', headers: { authorization: 'Bearer abc' } });
    const n: Notification = { id: 7, topicArn: TOPIC, message: MESSAGE, createdAt: Date.UTC(2026, 0, 15, 12, 0, 0, 123), attempts: 1 };
    await sink.deliver(n, AbortSignal.timeout(5000));
    assert.equal(got.length, 1);
    const { headers, body } = got[0]!;
    // What a receiver does: recompute the HMAC over the raw body and compare.
    const expected = 'sha256=' + createHmac('sha256', 'hook-secret').update(body).digest('hex');
    assert.equal(headers[SIGNATURE_HEADER], expected);
    assert.equal(webhookSignature('hook-secret', body), expected);
    assert.notEqual(headers[SIGNATURE_HEADER], webhookSignature('other-secret', body));
    assert.equal(headers['x-amz-sns-message-type'], 'Notification');
    assert.equal(headers['x-amz-sns-topic-arn'], TOPIC);
    assert.equal(headers.authorization, 'Bearer abc');
    const env = JSON.parse(body);
    assert.deepEqual(Object.keys(env), ['Type', 'MessageId', 'TopicArn', 'Message', 'Timestamp', 'SignatureVersion']);
    assert.equal(env.Type, 'Notification');
    assert.equal(env.Message, MESSAGE);
    assert.equal(env.MessageId, notificationMessageId(n));
    assert.equal(headers['x-amz-sns-message-id'], env.MessageId);
    assert.equal(env.Timestamp, '2026-01-15T12:00:00.123Z');

    status = 500;
    await assert.rejects(sink.deliver(n, AbortSignal.timeout(5000)), /HTTP 500/);
    // A retry re-sends the identical body, so the receiver can drop it by MessageId.
    assert.equal(got[1]!.body, body);
    // A redirect is not followed (fetch would turn the POST into a GET): it is a failed attempt.
    status = 302;
    await assert.rejects(sink.deliver(n, AbortSignal.timeout(5000)), /HTTP 302/);
    assert.equal(got.length, 3);
  } finally {
    srv.closeAllConnections();
    await new Promise((r) => srv.close(r));
  }
});

async function until(cond: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
