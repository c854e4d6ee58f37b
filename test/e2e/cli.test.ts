import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { awsCli } from '../helpers/clients.js';

let s: TestServer;
before(async () => {
  s = await startTestServer();
});
after(async () => {
  await s.close();
});

// The README's worked example, through the real aws CLI.
test('aws CLI: create-vault, list-vaults, describe-vault, tags', async () => {
  const aws = (...args: string[]) => awsCli(s.url, s.creds, args);

  const created = await aws('create-vault', '--account-id', '-', '--vault-name', 'photos');
  assert.equal(created.code, 0, created.stderr);
  assert.deepEqual(created.json, { location: `/${s.accountId}/vaults/photos` });

  const listed = await aws('list-vaults', '--account-id', '-');
  assert.equal(listed.code, 0, listed.stderr);
  assert.equal(listed.json.VaultList.length, 1);
  assert.equal(listed.json.VaultList[0].VaultARN, `arn:aws:glacier:us-east-1:${s.accountId}:vaults/photos`);

  const described = await aws('describe-vault', '--account-id', '-', '--vault-name', 'photos');
  assert.equal(described.code, 0, described.stderr);
  assert.equal(described.json.VaultName, 'photos');
  assert.equal(described.json.NumberOfArchives, 0);
  assert.equal(described.json.SizeInBytes, 0);

  const tagged = await aws('add-tags-to-vault', '--account-id', '-', '--vault-name', 'photos', '--tags', 'project=family,year=2026');
  assert.equal(tagged.code, 0, tagged.stderr);
  const tags = await aws('list-tags-for-vault', '--account-id', '-', '--vault-name', 'photos');
  assert.deepEqual(tags.json, { Tags: { project: 'family', year: '2026' } });

  const removed = await aws('remove-tags-from-vault', '--account-id', '-', '--vault-name', 'photos', '--tag-keys', 'year');
  assert.equal(removed.code, 0, removed.stderr);
  assert.deepEqual((await aws('list-tags-for-vault', '--account-id', '-', '--vault-name', 'photos')).json, { Tags: { project: 'family' } });

  const missing = await aws('describe-vault', '--account-id', '-', '--vault-name', 'nope');
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /ResourceNotFoundException/);
  assert.match(missing.stderr, new RegExp(`Vault not found for ARN: arn:aws:glacier:us-east-1:${s.accountId}:vaults/nope`));

  const deleted = await aws('delete-vault', '--account-id', '-', '--vault-name', 'photos');
  assert.equal(deleted.code, 0, deleted.stderr);
  assert.deepEqual((await aws('list-vaults', '--account-id', '-')).json.VaultList, []);
});

test('aws CLI with the wrong secret is refused with InvalidSignatureException', async () => {
  const r = await awsCli(s.url, { accessKeyId: s.creds.accessKeyId, secretAccessKey: 'wrong-wrong-wrong-wrong' }, ['list-vaults', '--account-id', '-']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /InvalidSignatureException/);
});
