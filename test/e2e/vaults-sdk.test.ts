import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  AddTagsToVaultCommand,
  CreateVaultCommand,
  DeleteVaultAccessPolicyCommand,
  DeleteVaultCommand,
  DeleteVaultNotificationsCommand,
  DescribeVaultCommand,
  GetVaultAccessPolicyCommand,
  GetVaultNotificationsCommand,
  ListTagsForVaultCommand,
  ListVaultsCommand,
  RemoveTagsFromVaultCommand,
  ResourceNotFoundException,
  SetVaultAccessPolicyCommand,
  SetVaultNotificationsCommand,
  paginateListVaults,
  waitUntilVaultExists,
  type GlacierClient,
} from '@aws-sdk/client-glacier';
import { startTestServer, type TestServer } from '../helpers/server.js';

let s: TestServer;
let g: GlacierClient;
before(async () => {
  s = await startTestServer();
  g = s.glacier();
});
after(async () => {
  await s.close();
});

test('@aws-sdk/client-glacier: create, describe, list with paginator, delete', async () => {
  const created = await g.send(new CreateVaultCommand({ accountId: '-', vaultName: 'sdk-vault' }));
  assert.equal(created.location, `/${s.accountId}/vaults/sdk-vault`);
  await waitUntilVaultExists({ client: g, maxWaitTime: 5, minDelay: 1 }, { accountId: '-', vaultName: 'sdk-vault' });
  const d = await g.send(new DescribeVaultCommand({ accountId: '-', vaultName: 'sdk-vault' }));
  assert.equal(d.VaultARN, `arn:aws:glacier:us-east-1:${s.accountId}:vaults/sdk-vault`);
  assert.equal(d.NumberOfArchives, 0);
  assert.equal(d.SizeInBytes, 0);
  assert.ok(d.CreationDate);

  for (let i = 0; i < 7; i++) await g.send(new CreateVaultCommand({ accountId: '-', vaultName: `page-${i}` }));
  const names: string[] = [];
  let pages = 0;
  for await (const page of paginateListVaults({ client: g, pageSize: 3 }, { accountId: '-' })) {
    pages++;
    names.push(...(page.VaultList ?? []).map((v) => v.VaultName!));
  }
  assert.equal(pages, 3);
  assert.deepEqual(names, ['page-0', 'page-1', 'page-2', 'page-3', 'page-4', 'page-5', 'page-6', 'sdk-vault']);

  await g.send(new DeleteVaultCommand({ accountId: '-', vaultName: 'page-0' }));
  const after = await g.send(new ListVaultsCommand({ accountId: '-', limit: 100 }));
  assert.equal(after.VaultList?.length, 7);
  assert.equal(after.Marker, undefined);
});

test('@aws-sdk/client-glacier: errors are typed exceptions with AWS codes', async () => {
  await assert.rejects(
    g.send(new DescribeVaultCommand({ accountId: '-', vaultName: 'missing' })),
    (e: unknown) => e instanceof ResourceNotFoundException && e.$metadata.httpStatusCode === 404 && /Vault not found for ARN/.test(e.message),
  );
  await assert.rejects(g.send(new DescribeVaultCommand({ accountId: '999988887777', vaultName: 'sdk-vault' })), (e: Error) => e.name === 'AccessDeniedException');
  const bad = s.glacier({ creds: { accessKeyId: s.creds.accessKeyId, secretAccessKey: 'wrong-secret-0000000000' } });
  await assert.rejects(bad.send(new ListVaultsCommand({ accountId: '-' })), (e: Error) => e.name === 'InvalidSignatureException');
  const unknown = s.glacier({ creds: { accessKeyId: 'AKIANOBODY0000000000', secretAccessKey: 'wrong-secret-0000000000' } });
  await assert.rejects(unknown.send(new ListVaultsCommand({ accountId: '-' })), (e: Error) => e.name === 'UnrecognizedClientException');
});

test('@aws-sdk/client-glacier: tags, notifications and access policy round-trip', async () => {
  const v = { accountId: '-', vaultName: 'sdk-vault' };
  await g.send(new AddTagsToVaultCommand({ ...v, Tags: { team: 'archive', tier: 'cold' } }));
  await g.send(new RemoveTagsFromVaultCommand({ ...v, TagKeys: ['tier'] }));
  assert.deepEqual((await g.send(new ListTagsForVaultCommand(v))).Tags, { team: 'archive' });

  const topic = `arn:aws:sns:us-east-1:${s.accountId}:jobs`;
  await g.send(new SetVaultNotificationsCommand({ ...v, vaultNotificationConfig: { SNSTopic: topic, Events: ['ArchiveRetrievalCompleted'] } }));
  const n = await g.send(new GetVaultNotificationsCommand(v));
  assert.deepEqual(n.vaultNotificationConfig, { SNSTopic: topic, Events: ['ArchiveRetrievalCompleted'] });
  await g.send(new DeleteVaultNotificationsCommand(v));
  await assert.rejects(g.send(new GetVaultNotificationsCommand(v)), ResourceNotFoundException);

  const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: '999988887777' }, Action: 'glacier:ListJobs', Resource: '*' }] });
  await g.send(new SetVaultAccessPolicyCommand({ ...v, policy: { Policy: policy } }));
  assert.equal((await g.send(new GetVaultAccessPolicyCommand(v))).policy?.Policy, policy);
  await g.send(new DeleteVaultAccessPolicyCommand(v));
  await assert.rejects(g.send(new GetVaultAccessPolicyCommand(v)), ResourceNotFoundException);
});
