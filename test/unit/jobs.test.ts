import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeJobJson, newJobId, type JobRecord } from '../../src/domain/jobs.js';
import { jobDelayMs } from '../../src/jobs/timing.js';
import { defaultConfig } from '../../src/config/load.js';

test('DescribeJob JSON reproduces the real 2014 capture [R mt-aws-glacier list_jobs.t] key for key', () => {
  const capture =
    '{"Action":"InventoryRetrieval","ArchiveId":null,"ArchiveSHA256TreeHash":null,"ArchiveSizeInBytes":null,"Completed":true,"CompletionDate":"2014-01-03T04:05:29.864Z","CreationDate":"2014-01-03T00:13:24.350Z","InventoryRetrievalParameters":{"EndDate":null,"Format":"JSON","Limit":null,"Marker":null,"StartDate":null},"InventorySizeInBytes":8128817,"JobDescription":null,"JobId":"Y88K008l_-X-o7bHFU6U8aKusnfPiqAUuUGu9Yl25J9ugwA86Du5BOf0Ce61GTGrcE6zcr5pIougjPomV-d2HeRmixKx","RetrievalByteRange":null,"SHA256TreeHash":null,"SNSTopic":null,"StatusCode":"Succeeded","StatusMessage":"Succeeded","VaultARN":"arn:aws:glacier:us-east-1:111111111111:vaults/test1"}';
  const job: JobRecord = {
    seq: 1,
    jobId: 'Y88K008l_-X-o7bHFU6U8aKusnfPiqAUuUGu9Yl25J9ugwA86Du5BOf0Ce61GTGrcE6zcr5pIougjPomV-d2HeRmixKx',
    vaultId: 1,
    vaultArn: 'arn:aws:glacier:us-east-1:111111111111:vaults/test1',
    action: 'InventoryRetrieval',
    description: null,
    snsTopic: null,
    tier: null,
    archiveId: null,
    archiveSize: null,
    archiveTreeHash: null,
    archiveDescription: null,
    blobKey: null,
    rangeStart: null,
    rangeEnd: null,
    rangeExplicit: false,
    treeHash: null,
    inventory: { format: 'JSON', startDate: null, endDate: null, limit: null, marker: null },
    nextMarker: null,
    status: 'Succeeded',
    statusMessage: 'Succeeded',
    createdAt: Date.parse('2014-01-03T00:13:24.350Z'),
    completedAt: Date.parse('2014-01-03T04:05:29.864Z'),
    outputSize: 8128817,
    outputKey: 'x',
    blobRetained: false,
    expiresAt: null,
  };
  const d: Record<string, unknown> = describeJobJson(job);
  // Keys added to the model after 2014 (tiers, select) are present as null; without them the
  // document is byte-identical to the capture.
  for (const k of ['JobOutputPath', 'OutputLocation', 'SelectParameters', 'Tier']) {
    assert.equal(d[k], null, k);
    delete d[k];
  }
  assert.equal(JSON.stringify(d), capture);
});

test('archive jobs: RetrievalByteRange always set; InventoryRetrievalParameters.Marker switches to the next marker on success', () => {
  const base: JobRecord = {
    seq: 1,
    jobId: 'j',
    vaultId: 1,
    vaultArn: 'arn',
    action: 'ArchiveRetrieval',
    description: 'd',
    snsTopic: 'arn:aws:sns:us-east-1:111111111111:t',
    tier: 'Bulk',
    archiveId: 'a',
    archiveSize: 10,
    archiveTreeHash: 'h',
    archiveDescription: '',
    blobKey: 'b',
    rangeStart: 0,
    rangeEnd: 9,
    rangeExplicit: false,
    treeHash: 'h',
    inventory: null,
    nextMarker: null,
    status: 'InProgress',
    statusMessage: 'Operation in progress.',
    createdAt: 0,
    completedAt: null,
    outputSize: null,
    outputKey: null,
    blobRetained: false,
    expiresAt: null,
  };
  const d = describeJobJson(base);
  assert.equal(d.RetrievalByteRange, '0-9');
  assert.equal(d.Tier, 'Bulk');
  assert.equal(d.ArchiveSizeInBytes, 10);
  assert.equal(d.InventorySizeInBytes, null);
  assert.equal(d.CompletionDate, null);
  const inv: JobRecord = { ...base, action: 'InventoryRetrieval', inventory: { format: 'CSV', startDate: null, endDate: null, limit: '2', marker: 'm1' }, nextMarker: 'm2' };
  assert.equal(describeJobJson(inv).InventoryRetrievalParameters!.Marker, 'm1');
  assert.equal(describeJobJson(inv).ArchiveId, null);
  assert.equal(describeJobJson(inv).RetrievalByteRange, null);
  assert.equal(describeJobJson({ ...inv, status: 'Succeeded', outputSize: 5 }).InventoryRetrievalParameters!.Marker, 'm2');
  assert.equal(describeJobJson({ ...inv, status: 'Succeeded', outputSize: 5 }).InventorySizeInBytes, 5);
});

test('FIRN_RETRIEVAL_TIMING: instant, fast, aws ranges, and per-tier overrides', () => {
  const H = 3_600_000;
  const c = (o: object) => defaultConfig(o);
  assert.equal(jobDelayMs(c({}), 'ArchiveRetrieval', 'Bulk'), 0);
  assert.equal(jobDelayMs(c({}), 'InventoryRetrieval', null), 0);
  assert.equal(jobDelayMs(c({ retrievalTiming: 'fast' }), 'ArchiveRetrieval', 'Expedited'), 2000);
  assert.equal(jobDelayMs(c({ retrievalTiming: 'fast' }), 'ArchiveRetrieval', 'Standard'), 5000);
  assert.equal(jobDelayMs(c({ retrievalTiming: 'fast' }), 'ArchiveRetrieval', 'Bulk'), 10000);
  const aws = c({ retrievalTiming: 'aws' });
  for (const [tier, lo, hi] of [
    ['Expedited', 60_000, 5 * 60_000],
    ['Standard', 3 * H, 5 * H],
    ['Bulk', 5 * H, 12 * H],
  ] as const) {
    assert.equal(jobDelayMs(aws, 'ArchiveRetrieval', tier, () => 0), lo);
    assert.equal(jobDelayMs(aws, 'ArchiveRetrieval', tier, () => 0.999999999), hi);
  }
  assert.equal(jobDelayMs(aws, 'InventoryRetrieval', null, () => 0), 3 * H);
  const o = c({ retrievalTiming: 'aws', timingStandard: 1234, timingInventory: 0 });
  assert.equal(jobDelayMs(o, 'ArchiveRetrieval', 'Standard'), 1234);
  assert.equal(jobDelayMs(o, 'InventoryRetrieval', null), 0);
  assert.ok(jobDelayMs(o, 'ArchiveRetrieval', 'Bulk') >= 5 * H);
});

test('job ids: 92 characters, time-ordered, never starting with "-" (the aws CLI would take it for an option)', () => {
  const a = newJobId(Date.UTC(2026, 0, 1));
  const b = newJobId(Date.UTC(2026, 0, 1) + 1);
  assert.match(a, /^[A-Za-z][A-Za-z0-9_-]{91}$/);
  assert.ok(a < b);
  assert.ok(newJobId(Date.UTC(2099, 0, 1)) > b);
});
