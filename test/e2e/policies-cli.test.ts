/**
 * The retrieval policy and capacity errors through the aws CLI. Every call is the real
 * `aws glacier …` (botocore) against a listening Firn.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer } from '../helpers/server.js';
import { awsCli } from '../helpers/clients.js';

test('aws CLI: data-retrieval policy round trip, validation, and PolicyEnforcedException at initiate-job', async () => {
  const s = await startTestServer();
  const dir = mkdtempSync(join(tmpdir(), 'firn-cli-policy-'));
  try {
    const cli = (...args: string[]) => awsCli(s.url, s.creds, args);
    let r = await cli('get-data-retrieval-policy', '--account-id', '-');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.json, { Policy: { Rules: [{ Strategy: 'None' }] } });

    r = await cli('set-data-retrieval-policy', '--account-id', '-', '--policy', '{"Rules":[{"Strategy":"BytesPerHour","BytesPerHour":1048576}]}');
    assert.equal(r.code, 0, r.stderr);
    r = await cli('get-data-retrieval-policy', '--account-id', '-');
    assert.deepEqual(r.json, { Policy: { Rules: [{ Strategy: 'BytesPerHour', BytesPerHour: 1048576 }] } });

    r = await cli('set-data-retrieval-policy', '--account-id', '-', '--policy', '{"Rules":[{"Strategy":"FreeTier","BytesPerHour":5}]}');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /InvalidParameterValueException/);

    // A 5 MiB archive: its rate is 1.25 MiB/h, over the 1 MiB/h limit.
    assert.equal((await cli('create-vault', '--account-id', '-', '--vault-name', 'cli-policy')).code, 0);
    const file = join(dir, 'five.bin');
    writeFileSync(file, Buffer.alloc(5 * 1024 * 1024, 9));
    r = await cli('upload-archive', '--account-id', '-', '--vault-name', 'cli-policy', '--body', file);
    assert.equal(r.code, 0, r.stderr);
    const archiveId = r.json.archiveId as string;
    r = await cli('initiate-job', '--account-id', '-', '--vault-name', 'cli-policy', '--job-parameters', JSON.stringify({ Type: 'archive-retrieval', ArchiveId: archiveId }));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /PolicyEnforcedException/);
    r = await cli('initiate-job', '--account-id', '-', '--vault-name', 'cli-policy', '--job-parameters', JSON.stringify({ Type: 'archive-retrieval', ArchiveId: archiveId, Tier: 'Bulk' }));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.json.jobId, /^[A-Za-z0-9_-]{92}$/);
  } finally {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('aws CLI: provisioned capacity purchase, list, LimitExceededException, InsufficientCapacityException', async () => {
  const s = await startTestServer({ config: { provisionedCapacity: 'enforce' } });
  const dir = mkdtempSync(join(tmpdir(), 'firn-cli-capacity-'));
  try {
    const cli = (...args: string[]) => awsCli(s.url, s.creds, args);
    assert.equal((await cli('create-vault', '--account-id', '-', '--vault-name', 'cli-capacity')).code, 0);
    const file = join(dir, 'small.bin');
    writeFileSync(file, 'expedite');
    let r = await cli('upload-archive', '--account-id', '-', '--vault-name', 'cli-capacity', '--body', file);
    const params = JSON.stringify({ Type: 'archive-retrieval', ArchiveId: r.json.archiveId, Tier: 'Expedited' });
    r = await cli('initiate-job', '--account-id', '-', '--vault-name', 'cli-capacity', '--job-parameters', params);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /InsufficientCapacityException/);

    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      r = await cli('purchase-provisioned-capacity', '--account-id', '-');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.json.capacityId, /^[A-Za-z0-9]{24}$/);
      ids.push(r.json.capacityId);
    }
    r = await cli('purchase-provisioned-capacity', '--account-id', '-');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /LimitExceededException/);
    r = await cli('list-provisioned-capacity', '--account-id', '-');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.json.ProvisionedCapacityList.map((u: any) => u.CapacityId).sort(), ids.sort());
    assert.match(r.json.ProvisionedCapacityList[0].ExpirationDate, /T\d\d:\d\d:\d\d\.000Z$/);

    r = await cli('initiate-job', '--account-id', '-', '--vault-name', 'cli-capacity', '--job-parameters', params);
    assert.equal(r.code, 0, r.stderr);
  } finally {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
