import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { SNSClient, CreateTopicCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import { SQSClient, CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, DeleteMessageCommand } from '@aws-sdk/client-sqs';
import {
  CreateVaultCommand,
  DescribeJobCommand,
  InitiateJobCommand,
  SetVaultNotificationsCommand,
  UploadArchiveCommand,
} from '@aws-sdk/client-glacier';
import { createServer as createTcpServer, connect, type Server as TcpServer, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GlacierClient } from '@aws-sdk/client-glacier';
import { signedRequest, startTestServer, TEST_KEY, TEST_SECRET, type TestServer } from '../helpers/server.js';
import { hasMotoServer, startMoto, type MotoServer } from '../helpers/moto.js';
import { ChildServer, freePort } from '../helpers/child-server.js';

// The SNS sink against a real SNS implementation on loopback: moto_server holds a topic with an
// SQS queue subscribed; Firn publishes job notifications to it; the test reads them off the queue.

const skip = hasMotoServer() ? false : 'moto_server is not installed (pip install "moto[server]"); the SNS sink test needs a local SNS';
const creds = { accessKeyId: 'test', secretAccessKey: 'test' };
const region = 'us-east-1';

let moto: MotoServer;
let sns: SNSClient;
let sqs: SQSClient;

before(async () => {
  if (skip) return;
  moto = await startMoto();
  sns = new SNSClient({ endpoint: moto.url, region, credentials: creds });
  sqs = new SQSClient({ endpoint: moto.url, region, credentials: creds });
});
after(async () => {
  if (skip) return;
  sns.destroy();
  sqs.destroy();
  await moto.stop();
});

/** A topic with a fresh SQS queue subscribed to it. */
async function topicWithQueue(name: string): Promise<{ topicArn: string; queueUrl: string }> {
  const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: name }));
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-q` }));
  const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  await sns.send(new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: attrs.Attributes!.QueueArn! }));
  return { topicArn: TopicArn!, queueUrl: QueueUrl! };
}

/** Everything on the queue now (deleting what it reads). */
async function drain(queueUrl: string): Promise<any[]> {
  const out: any[] = [];
  for (;;) {
    const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    if (!r.Messages?.length) return out;
    for (const m of r.Messages) {
      out.push(JSON.parse(m.Body!));
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle! }));
    }
  }
}

function firn(): Promise<TestServer> {
  return startTestServer({
    // Uses the app's outbox and notifier directly, and a moto endpoint that changes every run.
    ownServer: true,
    config: {
      notifySinks: [{ topic: 'arn:aws:sns:*', sink: 'sns', endpoint: moto.url, accessKeyId: 'test', secretAccessKey: 'test' }],
    },
  });
}

test('SNS sink: an outbox row is published to the topic and arrives on the subscribed SQS queue', { skip }, async () => {
  const { topicArn, queueUrl } = await topicWithQueue('firn-outbox');
  const s = await firn();
  try {
    const message = JSON.stringify({ Action: 'InventoryRetrieval', JobId: 'x'.repeat(92), StatusCode: 'Succeeded' });
    await s.running.app.store.outbox.enqueue([{ topicArn, message }], s.clock.now());
    assert.equal(await s.running.app.notifier.deliverDue(), 1);
    const got = await drain(queueUrl);
    assert.equal(got.length, 1);
    assert.equal(got[0].Type, 'Notification');
    assert.equal(got[0].TopicArn, topicArn);
    assert.equal(got[0].Message, message, 'the DescribeJob JSON is the SNS message, verbatim');
    assert.equal(await s.running.app.store.outbox.pendingCount(), 0);
  } finally {
    await s.close();
  }
});

test('SNS sink: an unknown topic keeps failing and is retried, not dropped', { skip }, async () => {
  const s = await firn();
  try {
    const topicArn = 'arn:aws:sns:us-east-1:123456789012:no-such-topic';
    await s.running.app.store.outbox.enqueue([{ topicArn, message: '{}' }], s.clock.now());
    assert.equal(await s.running.app.notifier.deliverDue(), 0);
    const row = (await s.running.app.store.outbox.get(1))!;
    assert.equal(row.deliveredAt, null);
    assert.equal(row.attempts, 1);
    assert.match(row.lastError ?? '', /NotFound|not exist|topic/i);
  } finally {
    await s.close();
  }
});

test('a completed archive retrieval notifies the job SNSTopic and the vault topic: one message each, the DescribeJob JSON', { skip }, async () => {
  const jobTopic = await topicWithQueue('job-topic');
  const vaultTopic = await topicWithQueue('vault-topic');
  const s = await firn();
  try {
    const g = s.glacier();
    await g.send(new CreateVaultCommand({ accountId: '-', vaultName: 'notified' }));
    await g.send(
      new SetVaultNotificationsCommand({
        accountId: '-',
        vaultName: 'notified',
        vaultNotificationConfig: { SNSTopic: vaultTopic.topicArn, Events: ['ArchiveRetrievalCompleted'] },
      }),
    );
    const up = await g.send(new UploadArchiveCommand({ accountId: '-', vaultName: 'notified', body: Buffer.alloc(3 * 1024 * 1024 + 5, 7) }));
    const job = await g.send(
      new InitiateJobCommand({
        accountId: '-',
        vaultName: 'notified',
        jobParameters: { Type: 'archive-retrieval', ArchiveId: up.archiveId!, SNSTopic: jobTopic.topicArn, Description: 'notify me' },
      }),
    );
    await s.running.app.jobs.runDue();
    await s.running.app.notifier.deliverDue();
    const described = await s.request({ method: 'GET', path: `/-/vaults/notified/jobs/${job.jobId}` });
    const describeJson = described.json();
    assert.equal(describeJson.StatusCode, 'Succeeded');
    assert.equal((await g.send(new DescribeJobCommand({ accountId: '-', vaultName: 'notified', jobId: job.jobId! }))).Completed, true);

    for (const t of [jobTopic, vaultTopic]) {
      const got = await drain(t.queueUrl);
      assert.equal(got.length, 1, `exactly one message on ${t.topicArn}`);
      assert.equal(got[0].TopicArn, t.topicArn);
      assert.deepEqual(JSON.parse(got[0].Message), describeJson, 'the message is the DescribeJob JSON');
    }
    // Nothing more goes out later.
    s.clock.advance(3_600_000);
    await s.running.app.notifier.deliverDue();
    assert.equal((await drain(jobTopic.queueUrl)).length + (await drain(vaultTopic.queueUrl)).length, 0);
  } finally {
    await s.close();
  }
});

/** A TCP forwarder to moto on a fixed port: while it is not listening, SNS is unreachable for Firn. */
async function forwarder(port: number, target: string): Promise<{ close(): Promise<void> }> {
  const t = new URL(target);
  const sockets = new Set<Socket>();
  const srv: TcpServer = createTcpServer((c) => {
    const up = connect(Number(t.port), t.hostname);
    sockets.add(c).add(up);
    c.pipe(up).pipe(c);
    const drop = () => {
      c.destroy();
      up.destroy();
    };
    c.on('error', drop).on('close', drop);
    up.on('error', drop).on('close', drop);
  });
  await new Promise<void>((r) => srv.listen(port, '127.0.0.1', r));
  return {
    close: () =>
      new Promise<void>((r) => {
        for (const x of sockets) x.destroy();
        srv.close(() => r());
      }),
  };
}

async function until(what: string, cond: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('SNS: Firn killed (SIGKILL) between job completion and delivery; after restart each queue holds exactly one message', { skip }, async () => {
  const jobTopic = await topicWithQueue('kill-job-topic');
  const vaultTopic = await topicWithQueue('kill-vault-topic');
  const proxyPort = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'firn-notify-sns-kill-'));
  const child = new ChildServer({
    dataDir,
    env: {
      FIRN_NOTIFY_SINKS: JSON.stringify([
        { topic: 'arn:aws:sns:*', sink: 'sns', endpoint: `http://127.0.0.1:${proxyPort}`, accessKeyId: 'test', secretAccessKey: 'test' },
      ]),
      FIRN_NOTIFY_RETRY_BASE: '200ms',
      FIRN_NOTIFY_RETRY_MAX: '400ms',
      FIRN_NOTIFY_POLL_INTERVAL: '100ms',
      FIRN_NOTIFY_TIMEOUT: '2s',
      FIRN_RETRIEVAL_TIMING: 'instant',
    },
  });
  let proxy: { close(): Promise<void> } | null = null;
  const clients: GlacierClient[] = [];
  const glacier = () => {
    const c = new GlacierClient({ endpoint: child.url, region, credentials: { accessKeyId: TEST_KEY, secretAccessKey: TEST_SECRET }, maxAttempts: 1 });
    clients.push(c);
    return c;
  };
  try {
    await child.start();
    const g = glacier();
    await g.send(new CreateVaultCommand({ accountId: '-', vaultName: 'killed' }));
    await g.send(
      new SetVaultNotificationsCommand({
        accountId: '-',
        vaultName: 'killed',
        vaultNotificationConfig: { SNSTopic: vaultTopic.topicArn, Events: ['InventoryRetrievalCompleted'] },
      }),
    );
    const job = await g.send(new InitiateJobCommand({ accountId: '-', vaultName: 'killed', jobParameters: { Type: 'inventory-retrieval', SNSTopic: jobTopic.topicArn } }));
    await until('the job to complete', async () => (await g.send(new DescribeJobCommand({ accountId: '-', vaultName: 'killed', jobId: job.jobId! }))).Completed === true);
    await new Promise((r) => setTimeout(r, 300));
    await child.kill();
    assert.equal((await drain(jobTopic.queueUrl)).length + (await drain(vaultTopic.queueUrl)).length, 0, 'nothing reached SNS before the kill');

    proxy = await forwarder(proxyPort, moto.url);
    await child.start();
    const got = { job: [] as any[], vault: [] as any[] };
    await until('both messages', async () => {
      got.job.push(...(await drain(jobTopic.queueUrl)));
      got.vault.push(...(await drain(vaultTopic.queueUrl)));
      return got.job.length >= 1 && got.vault.length >= 1;
    });
    await new Promise((r) => setTimeout(r, 1500));
    got.job.push(...(await drain(jobTopic.queueUrl)));
    got.vault.push(...(await drain(vaultTopic.queueUrl)));
    assert.equal(got.job.length, 1);
    assert.equal(got.vault.length, 1);
    const described = (await signedRequest(child.url, { method: 'GET', path: `/-/vaults/killed/jobs/${job.jobId}` })).json();
    assert.deepEqual(JSON.parse(got.job[0].Message), described);
    assert.deepEqual(JSON.parse(got.vault[0].Message), described);
  } finally {
    for (const c of clients) c.destroy();
    await child.stop();
    await proxy?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
