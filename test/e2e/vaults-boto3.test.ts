import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { BOTO3_PRELUDE, python } from '../helpers/clients.js';

let s: TestServer;
before(async () => {
  s = await startTestServer();
});
after(async () => {
  await s.close();
});

test('boto3: vault lifecycle, paginator, waiter, sub-resources and error codes', async () => {
  const r = await python(
    s.url,
    s.creds,
    BOTO3_PRELUDE +
      `
out = {}
for i in range(13):
    g.create_vault(vaultName='b3-%02d' % i)
out['create_again'] = g.create_vault(vaultName='b3-00')['location']
pages = list(g.get_paginator('list_vaults').paginate(PaginationConfig={'PageSize': 5}))
out['page_sizes'] = [len(p['VaultList']) for p in pages]
out['names'] = [v['VaultName'] for p in pages for v in p['VaultList']]
g.get_waiter('vault_exists').wait(vaultName='b3-03', WaiterConfig={'Delay': 1, 'MaxAttempts': 2})
d = g.describe_vault(vaultName='b3-03')
out['describe_keys'] = sorted(k for k in d if k != 'ResponseMetadata')
out['last_inventory'] = d.get('LastInventoryDate')
g.set_vault_notifications(vaultName='b3-03', vaultNotificationConfig={'SNSTopic': 'arn:aws:sns:us-east-1:${s.accountId}:t', 'Events': ['InventoryRetrievalCompleted']})
n = g.get_vault_notifications(vaultName='b3-03')['vaultNotificationConfig']
out['notif'] = [n['SNSTopic'], n['Events']]
policy = json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Principal': '*', 'Action': 'glacier:DescribeVault', 'Resource': '*'}]})
g.set_vault_access_policy(vaultName='b3-03', policy={'Policy': policy})
out['policy_roundtrip'] = g.get_vault_access_policy(vaultName='b3-03')['policy']['Policy'] == policy
g.add_tags_to_vault(vaultName='b3-03', Tags={'a': '1'})
out['tags'] = g.list_tags_for_vault(vaultName='b3-03')['Tags']
out['errors'] = {
  'missing': err(g.describe_vault, vaultName='nope'),
  'no_notif': err(g.get_vault_notifications, vaultName='b3-04'),
  'no_policy': err(g.get_vault_access_policy, vaultName='b3-04'),
  'bad_name': err(g.create_vault, vaultName='bad:name'),
  'other_account': err(g.describe_vault, accountId='999988887777', vaultName='b3-03'),
}
g.delete_vault(vaultName='b3-12')
g.get_waiter('vault_not_exists').wait(vaultName='b3-12', WaiterConfig={'Delay': 1, 'MaxAttempts': 2})
out['after_delete'] = len(g.list_vaults(limit='100')['VaultList'])
print(json.dumps(out))
`,
  );
  assert.equal(r.code, 0, r.stderr);
  const o = r.json;
  assert.equal(o.create_again, `/${s.accountId}/vaults/b3-00`);
  assert.deepEqual(o.page_sizes, [5, 5, 3]);
  assert.deepEqual(o.names, Array.from({ length: 13 }, (_, i) => `b3-${String(i).padStart(2, '0')}`));
  assert.deepEqual(o.describe_keys, ['CreationDate', 'NumberOfArchives', 'SizeInBytes', 'VaultARN', 'VaultName'].concat().sort());
  assert.equal(o.last_inventory, null);
  assert.deepEqual(o.notif, [`arn:aws:sns:us-east-1:${s.accountId}:t`, ['InventoryRetrievalCompleted']]);
  assert.equal(o.policy_roundtrip, true);
  assert.deepEqual(o.tags, { a: '1' });
  assert.deepEqual(o.errors.missing.slice(0, 2), ['ResourceNotFoundException', 404]);
  assert.deepEqual(o.errors.no_notif.slice(0, 2), ['ResourceNotFoundException', 404]);
  assert.deepEqual(o.errors.no_policy.slice(0, 2), ['ResourceNotFoundException', 404]);
  assert.deepEqual(o.errors.bad_name.slice(0, 2), ['InvalidParameterValueException', 400]);
  assert.deepEqual(o.errors.other_account.slice(0, 2), ['AccessDeniedException', 403]);
  assert.equal(o.after_delete, 12);
});
