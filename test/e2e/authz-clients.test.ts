import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomAccountId } from '../../src/auth/bootstrap.js';
import { fileURLToPath } from 'node:url';
import { startTestServer, type Creds, type TestServer } from '../helpers/server.js';
import { awsCli, BOTO3_PRELUDE, python } from '../helpers/clients.js';

/**
 * The three identities of the issue, driven by the real aws CLI and boto3:
 *  - the account root (may do everything in its account),
 *  - an IAM user with no policy (may do nothing),
 *  - another account granted read-only access by a vault access policy.
 * Users, keys and the second account are made with the real `firn` admin CLI against the data
 * directory while the server runs.
 */
// Random, so that the suite can run twice against one server (npm run e2e:twice).
const B = randomAccountId();
const CLI = fileURLToPath(new URL('../helpers/firn-cli.ts', import.meta.url));
let s: TestServer;
let intern: Creds & { id: string };
let rootB: Creds;
let tmp: string;

function firn(...args: string[]): string {
  const metadata = s.metadataUrl ? ['--metadata-url', s.metadataUrl] : [];
  const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args, '--data-dir', s.dataDir, ...metadata], { encoding: 'utf8', env: { ...process.env, FIRN_ACCOUNT_ID: '' } });
  assert.equal(r.status, 0, `firn ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const arn = (v: string) => `arn:aws:glacier:us-east-1:${s.accountId}:vaults/${v}`;

before(async () => {
  s = await startTestServer();
  tmp = mkdtempSync(join(tmpdir(), 'firn-authz-'));
  firn('users', 'create', 'intern', '--account-id', s.accountId);
  const k = JSON.parse(firn('keys', 'create', '--user-name', 'intern', '--account-id', s.accountId, '--json'));
  intern = { accessKeyId: k.AccessKeyId, secretAccessKey: k.SecretAccessKey, id: k.AccessKeyId };
  const b = JSON.parse(firn('accounts', 'create', '--account-id', B, '--json'));
  rootB = { accessKeyId: b.AccessKeyId, secretAccessKey: b.SecretAccessKey };
});
after(async () => {
  await s.close();
  rmSync(tmp, { recursive: true, force: true });
});

test('aws CLI: root sets up a shared vault with a read-only grant and a vault lock; the others are held to it', async () => {
  const root = (args: string[]) => awsCli(s.url, s.creds, args);
  assert.equal((await root(['create-vault', '--account-id', '-', '--vault-name', 'cli-shared'])).code, 0);
  const grant = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Sid: 'read-only', Principal: { AWS: `arn:aws:iam::${B}:root` }, Effect: 'Allow', Action: ['glacier:DescribeVault', 'glacier:ListTagsForVault', 'glacier:GetVaultAccessPolicy'], Resource: arn('cli-shared') }],
  });
  const set = await root(['set-vault-access-policy', '--account-id', '-', '--vault-name', 'cli-shared', '--policy', JSON.stringify({ Policy: grant })]);
  assert.equal(set.code, 0, set.stderr);
  const bodyFile = join(tmp, 'cli-body.txt');
  writeFileSync(bodyFile, 'a young archive');
  const up = await root(['upload-archive', '--account-id', '-', '--vault-name', 'cli-shared', '--body', bodyFile]);
  assert.equal(up.code, 0, up.stderr);
  const archiveId = up.json.archiveId as string;
  const lockPolicy = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Sid: 'deny-young', Principal: '*', Effect: 'Deny', Action: 'glacier:DeleteArchive', Resource: arn('cli-shared'), Condition: { NumericLessThan: { 'glacier:ArchiveAgeInDays': '30' } } }],
  });
  const init = await root(['initiate-vault-lock', '--account-id', '-', '--vault-name', 'cli-shared', '--policy', JSON.stringify({ Policy: lockPolicy })]);
  assert.equal(init.code, 0, init.stderr);
  assert.match(init.json.lockId, /^[A-Za-z0-9]{24}$/);
  assert.equal((await root(['complete-vault-lock', '--account-id', '-', '--vault-name', 'cli-shared', '--lock-id', init.json.lockId])).code, 0);
  const got = await root(['get-vault-lock', '--account-id', '-', '--vault-name', 'cli-shared']);
  assert.equal(got.json.State, 'Locked');
  assert.equal(got.json.Policy, lockPolicy);

  // Root may not delete the young archive, nor abort the lock.
  const del = await root(['delete-archive', '--account-id', '-', '--vault-name', 'cli-shared', `--archive-id=${archiveId}`]);
  assert.notEqual(del.code, 0);
  assert.match(del.stderr, /AccessDeniedException/);
  const abort = await root(['abort-vault-lock', '--account-id', '-', '--vault-name', 'cli-shared']);
  assert.match(abort.stderr, /AccessDeniedException/);

  // The ungranted user: nothing.
  for (const args of [['list-vaults', '--account-id', '-'], ['describe-vault', '--account-id', '-', '--vault-name', 'cli-shared'], ['create-vault', '--account-id', '-', '--vault-name', 'intern-v']]) {
    const r = await awsCli(s.url, intern, args);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.match(r.stderr, /AccessDeniedException/, args.join(' '));
  }

  // The other account: read-only on that vault, by explicit account id.
  const d = await awsCli(s.url, rootB, ['describe-vault', '--account-id', s.accountId, '--vault-name', 'cli-shared']);
  assert.equal(d.code, 0, d.stderr);
  assert.equal(d.json.VaultARN, arn('cli-shared'));
  assert.equal((await awsCli(s.url, rootB, ['list-tags-for-vault', '--account-id', s.accountId, '--vault-name', 'cli-shared'])).code, 0);
  for (const args of [
    ['add-tags-to-vault', '--account-id', s.accountId, '--vault-name', 'cli-shared', '--tags', 'k=v'],
    ['delete-archive', '--account-id', s.accountId, '--vault-name', 'cli-shared', `--archive-id=${archiveId}`],
    ['delete-vault', '--account-id', s.accountId, '--vault-name', 'cli-shared'],
    ['list-vaults', '--account-id', s.accountId],
  ]) {
    const r = await awsCli(s.url, rootB, args);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.match(r.stderr, /AccessDeniedException/, args.join(' '));
  }
});

test('boto3: the same three identities, and a key disabled with `firn keys disable`', async () => {
  const setup = await python(
    s.url,
    s.creds,
    BOTO3_PRELUDE +
      `
g.create_vault(vaultName='b3-shared')
g.create_vault(vaultName='b3-private')
g.set_vault_access_policy(vaultName='b3-shared', policy={'Policy': json.dumps({'Version': '2012-10-17', 'Statement': [{'Principal': {'AWS': '${B}'}, 'Effect': 'Allow', 'Action': ['glacier:DescribeVault', 'glacier:ListTagsForVault'], 'Resource': '${arn('b3-shared')}'}]})})
a = g.upload_archive(vaultName='b3-shared', body=b'young bytes')
lock = g.initiate_vault_lock(vaultName='b3-shared', policy={'Policy': json.dumps({'Version': '2012-10-17', 'Statement': [{'Principal': '*', 'Effect': 'Deny', 'Action': 'glacier:DeleteArchive', 'Resource': '${arn('b3-shared')}', 'Condition': {'NumericLessThan': {'glacier:ArchiveAgeInDays': '365'}}}]})})
g.complete_vault_lock(vaultName='b3-shared', lockId=lock['lockId'])
print(json.dumps({'archiveId': a['archiveId'], 'delete': err(g.delete_archive, vaultName='b3-shared', archiveId=a['archiveId']), 'state': g.get_vault_lock(vaultName='b3-shared')['State'], 'malformed': err(g.set_vault_access_policy, vaultName='b3-shared', policy={'Policy': '{"Statement": [{"Effect": "Allow"}]}'})}))
`,
  );
  assert.equal(setup.code, 0, setup.stderr);
  assert.equal(setup.json.state, 'Locked', setup.stdout);
  assert.deepEqual(setup.json.delete?.slice(0, 2), ['AccessDeniedException', 403], setup.stdout);
  assert.deepEqual(setup.json.malformed.slice(0, 2), ['InvalidParameterValueException', 400]);

  const ungranted = await python(
    s.url,
    intern,
    BOTO3_PRELUDE + `print(json.dumps({'list': err(g.list_vaults), 'describe': err(g.describe_vault, vaultName='b3-shared'), 'delete': err(g.delete_archive, vaultName='b3-shared', archiveId='${setup.json.archiveId}')}))`,
  );
  assert.equal(ungranted.code, 0, ungranted.stderr);
  for (const k of ['list', 'describe', 'delete']) assert.deepEqual(ungranted.json[k]?.slice(0, 2), ['AccessDeniedException', 403], k);

  const other = await python(
    s.url,
    rootB,
    BOTO3_PRELUDE +
      `
d = g.describe_vault(accountId='${s.accountId}', vaultName='b3-shared')
print(json.dumps({'arn': d['VaultARN'], 'tags': g.list_tags_for_vault(accountId='${s.accountId}', vaultName='b3-shared')['Tags'],
  'add_tags': err(g.add_tags_to_vault, accountId='${s.accountId}', vaultName='b3-shared', Tags={'x': 'y'}),
  'delete': err(g.delete_archive, accountId='${s.accountId}', vaultName='b3-shared', archiveId='${setup.json.archiveId}'),
  'other_vault': err(g.describe_vault, accountId='${s.accountId}', vaultName='b3-private'),
  'own_namespace': err(g.describe_vault, vaultName='b3-shared')}))
`,
  );
  assert.equal(other.code, 0, other.stderr);
  assert.equal(other.json.arn, arn('b3-shared'));
  assert.deepEqual(other.json.tags, {});
  for (const k of ['add_tags', 'delete', 'other_vault']) assert.deepEqual(other.json[k]?.slice(0, 2), ['AccessDeniedException', 403], k);
  assert.equal(other.json.own_namespace[0], 'ResourceNotFoundException');

  firn('keys', 'disable', intern.id);
  const disabled = await python(s.url, intern, BOTO3_PRELUDE + `print(json.dumps({'list': err(g.list_vaults)}))`);
  assert.equal(disabled.json.list[0], 'UnrecognizedClientException');
  const listed = JSON.parse(firn('keys', 'list', '--account-id', s.accountId, '--user-name', 'intern'));
  assert.equal(listed[0].Status, 'Inactive');
  assert.equal(JSON.stringify(listed).includes(intern.secretAccessKey), false, 'keys list never shows secrets');
});
