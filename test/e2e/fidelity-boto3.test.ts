/**
 * Through boto3: vault counters and inventory dates as the Developer Guide defines them (both
 * inventory modes), and 64-bit integers at their limits. botocore sends Python ints exactly, so
 * 2^63 − 1 reaches the server digit for digit; results are printed as strings so that nothing is
 * rounded on the way back into this test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { BOTO3_PRELUDE, python } from '../helpers/clients.js';
import { ManualClock } from '../../src/lib/clock.js';

/** Helpers on top of BOTO3_PRELUDE: domain clock and job completion through the test-control API. */
const PRELUDE =
  BOTO3_PRELUDE +
  `
import urllib.request
def control(path, body=None):
    req = urllib.request.Request(os.environ['ENDPOINT'] + '/_firn/test/' + path, data=json.dumps(body or {}).encode(), method='POST')
    return urllib.request.urlopen(req).read()
def advance(seconds):
    control('clock/advance', {'seconds': seconds})
def complete(v, job_id):
    control('jobs/%s/complete' % job_id)
def inventory(v):
    j = g.initiate_job(vaultName=v, jobParameters={'Type': 'inventory-retrieval'})['jobId']
    complete(v, j)
    out = json.loads(g.get_job_output(vaultName=v, jobId=j)['body'].read())
    return [out['InventoryDate'], [a['ArchiveId'] for a in out['ArchiveList']], sum(a['Size'] + 32768 for a in out['ArchiveList'])]
def describe(v):
    d = g.describe_vault(vaultName=v)
    return [d.get('LastInventoryDate'), d['NumberOfArchives'], d['SizeInBytes']]
out = {}
`;

async function withServer(config: Record<string, unknown>, script: string): Promise<any> {
  const s: TestServer = await startTestServer({ config: { testControl: true, ...config }, clock: new ManualClock() });
  try {
    const r = await python(s.url, s.creds, PRELUDE + script + '\nprint(json.dumps(out))\n');
    assert.equal(r.code, 0, r.stderr);
    return r.json;
  } finally {
    await s.close();
  }
}

type Describe = [string | null, number, number];
type Inv = [string, string[], number];
const seconds = (d: string | null) => (d === null ? null : d.replace(/\.\d{3}Z$/, 'Z'));

/** DescribeVault and the inventory job taken right after it report the same inventory. */
function agree(d: Describe, inv: Inv, creation?: string): void {
  assert.equal(inv[0], seconds(d[0] ?? creation ?? null), 'InventoryDate is LastInventoryDate');
  assert.equal(d[1], inv[1].length, 'NumberOfArchives');
  assert.equal(d[2], inv[2], 'SizeInBytes');
}

test('boto3, FIRN_INVENTORY=live: an addition or deletion is an inventory; InventoryDate stays put without one', async () => {
  const o = await withServer(
    {},
    `
g.create_vault(vaultName='live')
out['creation'] = g.describe_vault(vaultName='live')['CreationDate']
out['fresh'] = [describe('live'), inventory('live')]
advance(1)
out['fresh_again'] = inventory('live')
advance(1)
a = g.upload_archive(vaultName='live', body=b'a' * 100)['archiveId']
out['a'] = a
out['one'] = [describe('live'), inventory('live')]
advance(1)
out['one_again'] = [describe('live'), inventory('live')]
advance(1)
out['b'] = g.upload_archive(vaultName='live', body=b'b' * 300)['archiveId']
out['two'] = [describe('live'), inventory('live')]
advance(1)
g.delete_archive(vaultName='live', archiveId=a)
out['deleted'] = [describe('live'), inventory('live')]
`,
  );
  const [fd, fi] = o.fresh as [Describe, Inv];
  agree(fd, fi, o.creation);
  assert.deepEqual(fd, [null, 0, 0], 'a new vault: no inventory yet');
  assert.equal(o.fresh_again[0], fi[0]);
  for (const k of ['one', 'one_again', 'two', 'deleted']) agree(o[k][0], o[k][1]);
  assert.deepEqual(o.one[1][1], [o.a]);
  assert.equal(o.one_again[0][0], o.one[0][0], 'no change: LastInventoryDate kept');
  assert.equal(o.one_again[1][0], o.one[1][0], 'no change: InventoryDate kept a second later');
  assert.ok(o.two[1][0] > o.one[1][0], 'an addition moves it');
  assert.ok(o.deleted[1][0] > o.two[1][0], 'a deletion moves it');
  assert.deepEqual(o.deleted[1][1], [o.b]);
});

test('boto3, FIRN_INVENTORY=daily: counters and InventoryDate are the snapshot; it moves only after a change', async () => {
  const o = await withServer(
    { inventoryMode: 'daily', inventoryCadence: 3_600_000 },
    `
g.create_vault(vaultName='daily')
out['creation'] = g.describe_vault(vaultName='daily')['CreationDate']
a = g.upload_archive(vaultName='daily', body=b'a' * 100)['archiveId']
out['a'] = a
out['before'] = [describe('daily'), inventory('daily')]
advance(1)
out['before_again'] = inventory('daily')
advance(3600)
out['first'] = [describe('daily'), inventory('daily')]
advance(1)
out['first_again'] = inventory('daily')
advance(3600)
out['no_change'] = [describe('daily'), inventory('daily')]
out['b'] = g.upload_archive(vaultName='daily', body=b'b' * 300)['archiveId']
advance(1)
out['changed'] = [describe('daily'), inventory('daily')]
`,
  );
  agree(o.before[0], o.before[1], o.creation);
  assert.deepEqual(o.before[0], [null, 0, 0], 'written, not yet inventoried');
  assert.equal(o.before_again[0], o.before[1][0]);
  for (const k of ['first', 'no_change', 'changed']) agree(o[k][0], o[k][1]);
  assert.deepEqual(o.first[1][1], [o.a]);
  assert.equal(o.first_again[0], o.first[1][0], 'no change: the same InventoryDate a second later');
  assert.equal(o.no_change[1][0], o.first[1][0], 'no change: the next cadence keeps the date');
  assert.ok(o.changed[1][0] > o.first[1][0], 'a change moves it');
  assert.deepEqual(o.changed[1][1], [o.a, o.b]);
});

test('boto3: 64-bit integers at 2^53 + 1, 2^63 − 1 and 2^63, field by field', async () => {
  const o = await withServer(
    {},
    `
g.create_vault(vaultName='ints')
archive = g.upload_archive(vaultName='ints', body=b'z' * 1000)['archiveId']
job = g.initiate_job(vaultName='ints', jobParameters={'Type': 'archive-retrieval', 'ArchiveId': archive})['jobId']
complete('ints', job)
upload = g.initiate_multipart_upload(vaultName='ints', partSize=str(1024 * 1024))['uploadId']
for name, n in [('p53', 2**53 + 1), ('max', 2**63 - 1), ('p63', 2**63)]:
    r = {}
    policy = {'Rules': [{'Strategy': 'BytesPerHour', 'BytesPerHour': n}]}
    r['bph_set'] = err(g.set_data_retrieval_policy, Policy=policy)
    got = g.get_data_retrieval_policy()['Policy']['Rules'][0].get('BytesPerHour')
    r['bph_get'] = [str(got), type(got).__name__]
    e = err(g.initiate_job, vaultName='ints', jobParameters={'Type': 'inventory-retrieval', 'InventoryRetrievalParameters': {'Limit': str(n)}})
    if e is None:
        j = g.list_jobs(vaultName='ints')['JobList'][-1]
        e = j['InventoryRetrievalParameters']['Limit']
    r['limit'] = e
    r['part_size'] = err(g.initiate_multipart_upload, vaultName='ints', partSize=str(n))
    r['archive_size'] = err(g.complete_multipart_upload, vaultName='ints', uploadId=upload, archiveSize=str(n), checksum='0' * 64)
    r['content_range'] = err(g.upload_multipart_part, vaultName='ints', uploadId=upload, range='bytes %d-%d/*' % (n, n + 9), body=b'x' * 10)
    r['byte_range'] = err(g.initiate_job, vaultName='ints', jobParameters={'Type': 'archive-retrieval', 'ArchiveId': archive, 'RetrievalByteRange': '0-%d' % n})
    r['list_limits'] = [err(g.list_vaults, limit=str(n)), err(g.list_jobs, vaultName='ints', limit=str(n)),
                        err(g.list_multipart_uploads, vaultName='ints', limit=str(n)), err(g.list_parts, vaultName='ints', uploadId=upload, limit=str(n))]
    clamped = g.get_job_output(vaultName='ints', jobId=job, range='bytes=0-%d' % n)
    r['range_end'] = [clamped['status'], clamped['contentRange'], len(clamped['body'].read())]
    r['range_start'] = err(g.get_job_output, vaultName='ints', jobId=job, range='bytes=%d-' % n)
    out[name] = r
`,
  );
  const invalid = (e: unknown, raw: string, what: string) => {
    assert.ok(Array.isArray(e), `${what} ${raw}: refused`);
    assert.deepEqual((e as unknown[]).slice(0, 2), ['InvalidParameterValueException', 400], `${what} ${raw}`);
    assert.ok(String((e as unknown[])[2]).includes(raw), `${what}: ${String((e as unknown[])[2])} quotes ${raw}`);
  };
  for (const [name, raw] of [
    ['p53', '9007199254740993'],
    ['max', '9223372036854775807'],
    ['p63', '9223372036854775808'],
  ] as const) {
    const r = o[name];
    if (name === 'p63') {
      invalid(r.bph_set, raw, 'BytesPerHour');
      assert.deepEqual(r.bph_get, ['9223372036854775807', 'int'], 'the refused PUT left the previous policy');
      invalid(r.limit, raw, 'Limit');
    } else {
      assert.equal(r.bph_set, null);
      assert.deepEqual(r.bph_get, [raw, 'int'], 'BytesPerHour comes back exactly');
      assert.equal(r.limit, raw, 'Limit is echoed exactly');
    }
    invalid(r.part_size, raw, 'partSize');
    invalid(r.archive_size, raw, 'archiveSize');
    invalid(r.content_range, raw, 'range');
    invalid(r.byte_range, raw, 'RetrievalByteRange');
    for (const e of r.list_limits) invalid(e, raw, 'limit');
    assert.deepEqual(r.range_end, [206, 'bytes 0-999/1000', 1000]);
    invalid(r.range_start, raw, 'Range');
  }
});
