/**
 * The aws CLI and boto3, unchanged, through the job flow: initiate-job / describe-job /
 * get-job-output (whole and --range), chunked downloads verified with botocore's own tree hash,
 * CSV and JSON inventories, Limit/Marker paging, and the list_jobs paginator.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { awsCli, BOTO3_PRELUDE, python } from '../helpers/clients.js';
import { seededBytes } from '../helpers/glacier-raw.js';
import { MiB, treeHash } from '../../src/domain/treehash.js';

let s: TestServer;
let tmp: string;
before(async () => {
  // Instant timing: the engine completes jobs as soon as they are initiated.
  s = await startTestServer();
  tmp = mkdtempSync(join(tmpdir(), 'firn-jobs-cli-'));
});
after(async () => {
  await s.close();
  rmSync(tmp, { recursive: true, force: true });
});

async function cli(args: string[]) {
  const r = await awsCli(s.url, s.creds, args);
  assert.equal(r.code, 0, `aws glacier ${args.join(' ')}\n${r.stderr}`);
  return r.json;
}

async function waitDone(vault: string, jobId: string) {
  for (let i = 0; i < 100; i++) {
    await s.runDueJobs();
    const d = await cli(['describe-job', '--account-id', '-', '--vault-name', vault, '--job-id', jobId]);
    if (d.Completed) return d;
  }
  assert.fail(`job ${jobId} did not complete`);
}

test('aws CLI: upload, archive retrieval with a range, get-job-output whole and --range, CSV inventory', async () => {
  const vault = 'cli-jobs';
  await cli(['create-vault', '--account-id', '-', '--vault-name', vault]);
  const bytes = seededBytes('cli', 3 * MiB + 5);
  const file = join(tmp, 'archive.bin');
  writeFileSync(file, bytes);
  const up = await cli(['upload-archive', '--account-id', '-', '--vault-name', vault, '--archive-description', 'cli "archive", one', '--body', file]);
  assert.equal(up.checksum, treeHash(bytes));

  const init = await cli([
    'initiate-job',
    '--account-id',
    '-',
    '--vault-name',
    vault,
    '--job-parameters',
    JSON.stringify({ Type: 'archive-retrieval', ArchiveId: up.archiveId, RetrievalByteRange: `${MiB}-${3 * MiB + 4}`, Tier: 'Bulk' }),
  ]);
  assert.match(init.jobId, /^[A-Za-z0-9_-]{92}$/);
  assert.equal(init.location, `/${s.accountId}/vaults/${vault}/jobs/${init.jobId}`);
  const d = await waitDone(vault, init.jobId);
  assert.equal(d.StatusCode, 'Succeeded');
  assert.equal(d.RetrievalByteRange, `${MiB}-${3 * MiB + 4}`);
  // [1 MiB, end) of a 3 MiB+5 archive is not one tree node: no SHA256TreeHash (the CLI drops
  // null keys), no checksum header.
  assert.equal(d.SHA256TreeHash ?? null, null);
  assert.equal(d.ArchiveSHA256TreeHash, treeHash(bytes));
  const want = bytes.subarray(MiB);
  const out = join(tmp, 'out.bin');
  const whole = await cli(['get-job-output', '--account-id', '-', '--vault-name', vault, '--job-id', init.jobId, out]);
  assert.equal(whole.status, 200);
  assert.equal(whole.archiveDescription, 'cli "archive", one');
  assert.equal(whole.contentType, 'application/octet-stream');
  assert.equal(whole.checksum, undefined);
  assert.ok(readFileSync(out).equals(want));
  // --range is relative to the output: its second MiB is archive [2, 3) MiB. That is a tree node,
  // but the retrieval itself is not aligned, so the DG rule gives no checksum either.
  const part = await cli(['get-job-output', '--account-id', '-', '--vault-name', vault, '--job-id', init.jobId, '--range', `bytes=${MiB}-${2 * MiB - 1}`, out]);
  assert.equal(part.status, 206);
  assert.equal(part.contentRange, `bytes ${MiB}-${2 * MiB - 1}/${want.length}`);
  assert.equal(part.checksum, undefined);
  assert.ok(readFileSync(out).equals(bytes.subarray(2 * MiB, 3 * MiB)));

  // An aligned retrieval (the last 2 MiB node, [2 MiB, end)): whole and --range downloads carry it.
  const tail = await cli([
    'initiate-job',
    '--account-id',
    '-',
    '--vault-name',
    vault,
    '--job-parameters',
    JSON.stringify({ Type: 'archive-retrieval', ArchiveId: up.archiveId, RetrievalByteRange: `${2 * MiB}-${3 * MiB + 4}` }),
  ]);
  assert.equal((await waitDone(vault, tail.jobId)).SHA256TreeHash, treeHash(bytes.subarray(2 * MiB)));
  const t1 = await cli(['get-job-output', '--account-id', '-', '--vault-name', vault, '--job-id', tail.jobId, '--range', `bytes=0-${MiB - 1}`, out]);
  assert.equal(t1.checksum, treeHash(bytes.subarray(2 * MiB, 3 * MiB)));
  assert.ok(readFileSync(out).equals(bytes.subarray(2 * MiB, 3 * MiB)));
  const t2 = await cli(['get-job-output', '--account-id', '-', '--vault-name', vault, '--job-id', tail.jobId, out]);
  assert.equal(t2.checksum, treeHash(bytes.subarray(2 * MiB)));

  const inv = await cli(['initiate-job', '--account-id', '-', '--vault-name', vault, '--job-parameters', '{"Type":"inventory-retrieval","Format":"CSV"}']);
  const di = await waitDone(vault, inv.jobId);
  assert.equal(di.Action, 'InventoryRetrieval');
  assert.deepEqual(di.InventoryRetrievalParameters, { Format: 'CSV' });
  const csvOut = join(tmp, 'inv.csv');
  const r = await cli(['get-job-output', '--account-id', '-', '--vault-name', vault, '--job-id', inv.jobId, csvOut]);
  assert.equal(r.contentType, 'text/csv');
  const lines = readFileSync(csvOut, 'utf8').split('\n');
  assert.equal(lines[0], 'ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash');
  assert.match(lines[1]!, new RegExp(`^${up.archiveId},"cli \\\\"archive\\\\", one",\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ,${bytes.length},${treeHash(bytes)}$`));
  assert.equal(di.InventorySizeInBytes, readFileSync(csvOut).length);

  const list = await cli(['list-jobs', '--account-id', '-', '--vault-name', vault]);
  assert.deepEqual(
    list.JobList.map((j: any) => j.JobId),
    [init.jobId, tail.jobId, inv.jobId],
  );
  const bad = await awsCli(s.url, s.creds, ['list-jobs', '--account-id', '-', '--vault-name', vault, '--statuscode', 'finished']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /InvalidParameterValueException/);
  assert.match(bad.stderr, /The job status code is not valid: finished/);
});

test('boto3: chunked download verified with botocore.utils.calculate_tree_hash, JSON inventory paging, list_jobs paginator', async () => {
  const r = await python(
    s.url,
    s.creds,
    BOTO3_PRELUDE +
      `
import io, time
from botocore.utils import calculate_tree_hash
MiB = 1024 * 1024
out = {}
v = 'boto3-jobs'
g.create_vault(vaultName=v)
data = bytes((i * 7 + i // 977) % 251 for i in range(5 * MiB + 4321))
a = g.upload_archive(vaultName=v, body=data, archiveDescription='boto3 archive')
ids = [a['archiveId']]
for i in range(4):
    ids.append(g.upload_archive(vaultName=v, body=b'small %d' % i, archiveDescription='small, "%d"' % i)['archiveId'])

def wait(job_id):
    for _ in range(400):
        d = g.describe_job(vaultName=v, jobId=job_id)
        if d['Completed']:
            return d
        time.sleep(0.025)
    raise Exception('job did not complete')

job = g.initiate_job(vaultName=v, jobParameters={'Type': 'archive-retrieval', 'ArchiveId': a['archiveId']})
d = wait(job['jobId'])
out['status'] = d['StatusCode']
out['tree_ok'] = d['SHA256TreeHash'] == calculate_tree_hash(io.BytesIO(data))
# boto2-style: 4 MiB chunks, the last one past the end; every chunk carries its tree hash.
chunks, checks = [], []
size = d['ArchiveSizeInBytes']
for start in range(0, size, 4 * MiB):
    o = g.get_job_output(vaultName=v, jobId=job['jobId'], range='bytes=%d-%d' % (start, start + 4 * MiB - 1))
    body = o['body'].read()
    checks.append(o['checksum'] == calculate_tree_hash(io.BytesIO(body)) and o['status'] == 206)
    chunks.append(body)
out['chunks'] = checks
out['reassembled'] = b''.join(chunks) == data
o = g.get_job_output(vaultName=v, jobId=job['jobId'])
out['whole'] = [o['status'], o['checksum'] == calculate_tree_hash(io.BytesIO(data)), o['archiveDescription'], o['body'].read() == data]

seen, marker, rounds = [], None, 0
while True:
    p = {'Type': 'inventory-retrieval', 'Format': 'JSON', 'InventoryRetrievalParameters': {'Limit': '2'}}
    if marker:
        p['InventoryRetrievalParameters']['Marker'] = marker
    j = g.initiate_job(vaultName=v, jobParameters=p)
    d = wait(j['jobId'])
    inv = json.loads(g.get_job_output(vaultName=v, jobId=j['jobId'])['body'].read())
    seen += [x['ArchiveId'] for x in inv['ArchiveList']]
    rounds += 1
    marker = d['InventoryRetrievalParameters'].get('Marker')
    if not marker:
        break
out['paged'] = seen == ids
out['rounds'] = rounds
out['descs'] = [x['ArchiveDescription'] for x in inv['ArchiveList']]
pages = list(g.get_paginator('list_jobs').paginate(vaultName=v, PaginationConfig={'PageSize': 2}))
out['page_sizes'] = [len(p['JobList']) for p in pages]
out['errors'] = {
  'not_ready_or_missing': err(g.get_job_output, vaultName=v, jobId='x' * 92),
  'bad_range': err(g.initiate_job, vaultName=v, jobParameters={'Type': 'archive-retrieval', 'ArchiveId': a['archiveId'], 'RetrievalByteRange': '1-2'}),
  'archive_with_inventory': err(g.initiate_job, vaultName=v, jobParameters={'Type': 'inventory-retrieval', 'ArchiveId': a['archiveId']}),
  'select': err(g.initiate_job, vaultName=v, jobParameters={'Type': 'select', 'ArchiveId': a['archiveId']}),
}
print(json.dumps(out))
`,
  );
  assert.equal(r.code, 0, r.stderr);
  const o = r.json;
  assert.equal(o.status, 'Succeeded');
  assert.equal(o.tree_ok, true);
  assert.deepEqual(o.chunks, [true, true]);
  assert.equal(o.reassembled, true);
  assert.deepEqual(o.whole, [200, true, 'boto3 archive', true]);
  assert.equal(o.paged, true);
  assert.equal(o.rounds, 3);
  assert.deepEqual(o.descs, ['small, "3"']);
  // 4 jobs (1 archive, 3 inventory) in pages of 2, and no empty trailing page.
  assert.deepEqual(o.page_sizes, [2, 2]);
  assert.deepEqual(o.errors.not_ready_or_missing.slice(0, 2), ['ResourceNotFoundException', 404]);
  assert.deepEqual(o.errors.bad_range.slice(0, 2), ['InvalidParameterValueException', 400]);
  assert.deepEqual(o.errors.archive_with_inventory.slice(0, 2), ['InvalidParameterValueException', 400]);
  assert.deepEqual(o.errors.select.slice(0, 2), ['InvalidParameterValueException', 400]);
});
