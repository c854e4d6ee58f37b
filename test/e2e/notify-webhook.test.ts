/**
 * A webhook receiver receives exactly one message per job and per configured
 * destination, including after Firn was killed between job completion and delivery. Firn runs as
 * a child process; its jobs complete while the receiver is down, it is SIGKILLed with the
 * notifications still in the outbox, and after a restart the receiver gets each one exactly once,
 * signed with the configured secret.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GlacierClient,
  CreateVaultCommand,
  DescribeJobCommand,
  InitiateJobCommand,
  SetVaultNotificationsCommand,
  UploadArchiveCommand,
} from '@aws-sdk/client-glacier';
import { ChildServer, freePort } from '../helpers/child-server.js';
import { startWebhookReceiver, until, type Received } from '../helpers/webhook.js';
import { signedRequest, TEST_KEY, TEST_SECRET } from '../helpers/server.js';
import { onPostgres } from '../helpers/metadata.js';

const SECRET = 'webhook-test-secret';
const JOB_TOPIC = 'arn:aws:sns:us-east-1:111122223333:job-topic';
const VAULT_TOPIC = 'arn:aws:sns:us-east-1:111122223333:vault-topic';

test('webhook: exactly one signed message per job and destination, also across a kill -9 between completion and delivery', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'firn-notify-kill-'));
  const hookPort = await freePort();
  const child = new ChildServer({
    dataDir,
    env: {
      FIRN_NOTIFY_SINKS: JSON.stringify([{ topic: 'arn:aws:sns:*', sink: 'webhook', url: `http://127.0.0.1:${hookPort}/glacier`, secret: SECRET }]),
      // Failed attempts back off for an hour: only the restart itself can make them due again.
      FIRN_NOTIFY_RETRY_BASE: '1h',
      FIRN_NOTIFY_RETRY_MAX: '1h',
      FIRN_NOTIFY_POLL_INTERVAL: '100ms',
      FIRN_RETRIEVAL_TIMING: 'instant',
      FIRN_TEST_CONTROL: 'true',
    },
  });
  const got: Received[] = [];
  const bad: string[] = [];
  let receiver: Server | null = null;
  const clients: GlacierClient[] = [];
  const glacier = () => {
    const c = new GlacierClient({ endpoint: child.url, region: 'us-east-1', credentials: { accessKeyId: TEST_KEY, secretAccessKey: TEST_SECRET }, maxAttempts: 1 });
    clients.push(c);
    return c;
  };
  try {
    await child.start();
    let g = glacier();
    await g.send(new CreateVaultCommand({ accountId: '-', vaultName: 'hooked' }));
    await g.send(
      new SetVaultNotificationsCommand({
        accountId: '-',
        vaultName: 'hooked',
        vaultNotificationConfig: { SNSTopic: VAULT_TOPIC, Events: ['ArchiveRetrievalCompleted', 'InventoryRetrievalCompleted'] },
      }),
    );
    const up = await g.send(new UploadArchiveCommand({ accountId: '-', vaultName: 'hooked', body: Buffer.from('notification payload') }));
    // Archive job: per-job topic and the vault topic → two messages. Inventory job: vault topic only.
    const archiveJob = await g.send(
      new InitiateJobCommand({ accountId: '-', vaultName: 'hooked', jobParameters: { Type: 'archive-retrieval', ArchiveId: up.archiveId!, SNSTopic: JOB_TOPIC } }),
    );
    const inventoryJob = await g.send(new InitiateJobCommand({ accountId: '-', vaultName: 'hooked', jobParameters: { Type: 'inventory-retrieval' } }));
    const jobIds = [archiveJob.jobId!, inventoryJob.jobId!];
    await until('both jobs to complete', async () => {
      for (const jobId of jobIds) {
        if (!(await g.send(new DescribeJobCommand({ accountId: '-', vaultName: 'hooked', jobId }))).Completed) return false;
      }
      return true;
    });
    // The receiver is down: give the worker time to try (and fail) at least once, then kill -9.
    await new Promise((r) => setTimeout(r, 300));
    await child.kill();
    assert.equal(got.length, 0);

    receiver = await startWebhookReceiver(hookPort, SECRET, got, bad);
    await child.start();
    g = glacier();
    if (onPostgres()) {
      // An embedded start-up makes the dead process's rows due at once (it was the only one). On a
      // shared store a restarting process leaves other processes' backoffs alone, so the rows are
      // delivered when their hour is up: move domain time past it.
      const r = await signedRequest(child.url, { method: 'POST', path: '/_firn/test/clock/advance', body: JSON.stringify({ seconds: 2 * 3600 }) });
      assert.equal(r.status, 200, r.body.toString());
    }
    await until('three notifications', () => got.length >= 3);
    // Longer than several retry and poll periods: nothing else may arrive.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(bad.length, 0, 'every request carried a valid signature');
    assert.equal(got.length, 3, JSON.stringify(got.map((x) => [x.topicArn, x.message.JobId])));
    assert.equal(new Set(got.map((x) => x.messageId)).size, 3, 'three distinct message ids');

    const archiveDesc = await fetchDescribe(child.url, archiveJob.jobId!);
    const inventoryDesc = await fetchDescribe(child.url, inventoryJob.jobId!);
    const byKey = new Map(got.map((x) => [`${x.topicArn} ${x.message.JobId}`, x.message]));
    assert.deepEqual(byKey.get(`${JOB_TOPIC} ${archiveJob.jobId}`), archiveDesc);
    assert.deepEqual(byKey.get(`${VAULT_TOPIC} ${archiveJob.jobId}`), archiveDesc);
    assert.deepEqual(byKey.get(`${VAULT_TOPIC} ${inventoryJob.jobId}`), inventoryDesc);
    assert.equal(archiveDesc.Action, 'ArchiveRetrieval');
    assert.equal(inventoryDesc.Action, 'InventoryRetrieval');
  } finally {
    for (const c of clients) c.destroy();
    await child.stop();
    if (receiver) {
      receiver.closeAllConnections();
      await new Promise((r) => receiver!.close(r));
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
});

/** DescribeJob's JSON as it is on the wire (what the notification must equal). */
async function fetchDescribe(url: string, jobId: string): Promise<any> {
  const r = await signedRequest(url, { method: 'GET', path: `/-/vaults/hooked/jobs/${jobId}` });
  assert.equal(r.status, 200);
  return r.json();
}
