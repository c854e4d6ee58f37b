// Notification delivery throughput: N outbox rows delivered by the worker to a local webhook
// receiver (HMAC-signed POSTs) and, if moto_server is installed, to a local SNS topic.
// Usage: node --import tsx bench/notify.ts [N]   (not part of npm test)
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SNSClient, CreateTopicCommand } from '@aws-sdk/client-sns';
import { ManualClock } from '../src/lib/clock.js';
import { silentLogger } from '../src/lib/logger.js';
import { SqliteMetadataStore } from '../src/storage/metadata/sqlite/index.js';
import { SinkRouter } from '../src/notify/sinks.js';
import { NotificationWorker } from '../src/notify/worker.js';
import type { SinkRule } from '../src/notify/rules.js';
import { hasMotoServer, startMoto } from '../test/helpers/moto.js';

const N = Number(process.argv[2] ?? 2000);
const message = JSON.stringify({ Action: 'ArchiveRetrieval', JobId: 'J'.repeat(92), StatusCode: 'Succeeded', pad: 'x'.repeat(600) });

async function run(label: string, rules: SinkRule[], topicArn: string): Promise<void> {
  const store = new SqliteMetadataStore(':memory:');
  const clock = new ManualClock();
  const log = silentLogger();
  const w = new NotificationWorker({
    outbox: store.outbox,
    router: new SinkRouter(rules, { log, timeoutMs: 10_000 }),
    clock,
    log,
    pollMs: 1000,
    retryBaseMs: 1000,
    retryMaxMs: 1000,
    timeoutMs: 10_000,
    warnAfter: 3,
    exclusive: true,
  });
  await store.outbox.enqueue(Array.from({ length: N }, () => ({ topicArn, message })), clock.now());
  const t0 = process.hrtime.bigint();
  const delivered = await w.deliverDue();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`${label}: ${delivered}/${N} delivered in ${s.toFixed(2)} s = ${Math.round(delivered / s)} notifications/s`);
  await w.stop();
  await store.close();
}

const srv = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(204).end());
});
await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/`;
await run('webhook', [{ topic: '*', sink: 'webhook', url, secret: 'k' }], 'arn:aws:sns:us-east-1:111122223333:t');
srv.close();

if (hasMotoServer()) {
  const moto = await startMoto();
  const sns = new SNSClient({ endpoint: moto.url, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'bench' }));
  sns.destroy();
  await run('sns (moto_server)', [{ topic: '*', sink: 'sns', endpoint: moto.url, accessKeyId: 'test', secretAccessKey: 'test' }], TopicArn!);
  await moto.stop();
}
