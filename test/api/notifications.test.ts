import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { webhookSignature } from '../../src/notify/sinks.js';

// Which completions produce which messages, end to end through InitiateJob, the job engine, the
// outbox and the webhook sink (two receivers, routed by topic ARN glob).

const A = 'arn:aws:sns:us-east-1:111122223333:team-a-jobs';
const B = 'arn:aws:sns:eu-west-1:111122223333:team-b-vault';

interface Hook {
  server: Server;
  url: string;
  got: { topicArn: string; message: any; signatureOk: boolean }[];
}

async function hook(secret: string): Promise<Hook> {
  const got: Hook['got'] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const env = JSON.parse(raw.toString('utf8'));
      got.push({ topicArn: env.TopicArn, message: JSON.parse(env.Message), signatureOk: req.headers['x-firn-signature-256'] === webhookSignature(secret, raw) });
      res.statusCode = 200;
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, got };
}

let s: TestServer;
let hookA: Hook;
let hookB: Hook;
before(async () => {
  hookA = await hook('secret-a');
  hookB = await hook('secret-b');
  s = await startTestServer({
    config: {
      // Standard jobs wait an hour of domain time, so that a test can act before they run.
      timingStandard: 3_600_000,
      notifySinks: [
        { topic: 'arn:aws:sns:*:*:team-a-*', sink: 'webhook', url: hookA.url, secret: 'secret-a' },
        { topic: 'arn:aws:sns:eu-west-1:*', sink: 'webhook', url: hookB.url, secret: 'secret-b' },
      ],
    },
  });
});
after(async () => {
  await s.close();
  for (const h of [hookA, hookB]) {
    h.server.closeAllConnections();
    await new Promise((r) => h.server.close(r));
  }
});

async function settle(): Promise<void> {
  await s.running.app.jobs.runDue();
  await s.running.app.notifier.deliverDue();
}

const json = (body: unknown) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

async function upload(vault: string, body: string): Promise<string> {
  const { UploadArchiveCommand } = await import('@aws-sdk/client-glacier');
  const r = await s.glacier().send(new UploadArchiveCommand({ accountId: '-', vaultName: vault, body: Buffer.from(body) }));
  return r.archiveId!;
}

async function initiate(vault: string, params: Record<string, unknown>): Promise<string> {
  const r = await s.request({ method: 'POST', path: `/-/vaults/${vault}/jobs`, ...json(params) });
  assert.equal(r.status, 202, r.body.toString());
  return String(r.headers['x-amz-job-id']);
}

test('per-job SNSTopic only, vault config for the other event only: exactly one message, routed and signed', async () => {
  await s.request({ method: 'PUT', path: '/-/vaults/n1' });
  await s.request({ method: 'PUT', path: '/-/vaults/n1/notification-configuration', ...json({ SNSTopic: B, Events: ['ArchiveRetrievalCompleted'] }) });
  const jobId = await initiate('n1', { Type: 'inventory-retrieval', SNSTopic: A });
  await settle();
  const mine = hookA.got.filter((g) => g.message.JobId === jobId);
  assert.equal(mine.length, 1);
  assert.equal(mine[0]!.topicArn, A);
  assert.ok(mine[0]!.signatureOk);
  assert.equal(mine[0]!.message.Action, 'InventoryRetrieval');
  assert.equal(mine[0]!.message.SNSTopic, A);
  assert.equal(hookB.got.filter((g) => g.message.JobId === jobId).length, 0, 'the vault config does not list InventoryRetrievalCompleted');
});

test('a Failed job notifies too: archive deleted before the retrieval ran → StatusCode Failed to both destinations', async () => {
  await s.request({ method: 'PUT', path: '/-/vaults/n2' });
  await s.request({
    method: 'PUT',
    path: '/-/vaults/n2/notification-configuration',
    ...json({ SNSTopic: B, Events: ['ArchiveRetrievalCompleted', 'InventoryRetrievalCompleted'] }),
  });
  const archiveId = await upload('n2', 'short-lived');
  const jobId = await initiate('n2', { Type: 'archive-retrieval', ArchiveId: archiveId, SNSTopic: A });
  assert.equal((await s.request({ method: 'DELETE', path: `/-/vaults/n2/archives/${archiveId}` })).status, 204);
  await settle();
  assert.equal(hookA.got.filter((g) => g.message.JobId === jobId).length, 0, 'nothing before the job completes');
  s.clock.advance(3_600_000 + 1000);
  await settle();
  const described = (await s.request({ method: 'GET', path: `/-/vaults/n2/jobs/${jobId}` })).json();
  assert.equal(described.StatusCode, 'Failed');
  const a = hookA.got.filter((g) => g.message.JobId === jobId);
  const b = hookB.got.filter((g) => g.message.JobId === jobId);
  assert.equal(a.length, 1);
  assert.equal(b.length, 1);
  assert.deepEqual(a[0]!.message, described);
  assert.deepEqual(b[0]!.message, described);
  assert.ok(a[0]!.signatureOk && b[0]!.signatureOk);
});

test('no SNSTopic and no vault configuration: nothing is queued', async () => {
  await s.request({ method: 'PUT', path: '/-/vaults/n3' });
  const before = hookA.got.length + hookB.got.length;
  await initiate('n3', { Type: 'inventory-retrieval' });
  await settle();
  assert.equal(await s.running.app.store.outbox.pendingCount(), 0);
  assert.equal(hookA.got.length + hookB.got.length, before);
});
