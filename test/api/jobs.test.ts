import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, TEST_ACCOUNT, type TestServer } from '../helpers/server.js';
import { RawGlacier, seededBytes, sha256Hex } from '../helpers/glacier-raw.js';
import { MiB, treeHash } from '../../src/domain/treehash.js';
import { storeRows } from '../helpers/store-sql.js';

const H = 3_600_000;
const ARN = (v: string) => `arn:aws:glacier:us-east-1:${TEST_ACCOUNT}:vaults/${v}`;
const JOB_KEYS = [
  'Action',
  'ArchiveId',
  'ArchiveSHA256TreeHash',
  'ArchiveSizeInBytes',
  'Completed',
  'CompletionDate',
  'CreationDate',
  'InventoryRetrievalParameters',
  'InventorySizeInBytes',
  'JobDescription',
  'JobId',
  'JobOutputPath',
  'OutputLocation',
  'RetrievalByteRange',
  'SHA256TreeHash',
  'SNSTopic',
  'SelectParameters',
  'StatusCode',
  'StatusMessage',
  'Tier',
  'VaultARN',
];

let s: TestServer;
before(async () => {
  // aws timing: every job waits for its tier delay, so tests see InProgress and move the clock.
  s = await startTestServer({ config: { retrievalTiming: 'aws' } });
});
after(async () => {
  await s.close();
});

async function vault(name: string): Promise<RawGlacier> {
  const g = new RawGlacier(s.url, name);
  assert.equal((await g.createVault()).status, 201);
  return g;
}

async function upload(g: RawGlacier, desc: string, bytes: Buffer): Promise<string> {
  const r = await g.uploadArchive(bytes, desc);
  assert.equal(r.status, 201, r.body.toString());
  return String(r.headers['x-amz-archive-id']);
}

async function initiate(g: RawGlacier, params: Record<string, unknown>): Promise<string> {
  const r = await g.initiateJob(params);
  assert.equal(r.status, 202, r.body.toString());
  return String(r.headers['x-amz-job-id']);
}

/** Moves domain time and lets the engine run whatever became due. */
async function advance(ms: number): Promise<void> {
  s.clock.advance(ms);
  await s.running.app.jobs.runDue();
}

async function describe(g: RawGlacier, jobId: string): Promise<any> {
  const r = await g.describeJob(jobId);
  assert.equal(r.status, 200, r.body.toString());
  return r.json();
}

function expectError(r: { status: number; json(): any; body: Buffer }, status: number, code: string, message?: string | RegExp) {
  assert.equal(r.status, status, r.body.toString());
  const j = r.json();
  assert.equal(j.code, code, r.body.toString());
  assert.equal(j.type, 'Client');
  if (typeof message === 'string') assert.equal(j.message, message);
  else if (message) assert.match(j.message, message);
}

test('InitiateJob validates every field and combination of DG api-initiate-job-post', async () => {
  const g = await vault('jobs-validate');
  const size = 3 * MiB + 100;
  const archiveId = await upload(g, 'v', seededBytes('v', size));
  const bad: [Record<string, unknown>, number, string, RegExp?][] = [
    [{}, 400, 'MissingParameterValueException'],
    [{ Type: 'restore' }, 400, 'InvalidParameterValueException', /Invalid job type: restore/],
    [{ Type: 'select', ArchiveId: archiveId }, 400, 'InvalidParameterValueException', /not supported/],
    [{ Type: 'inventory-retrieval', ArchiveId: archiveId }, 400, 'InvalidParameterValueException', /ArchiveId/],
    [{ Type: 'inventory-retrieval', RetrievalByteRange: '0-1048575' }, 400, 'InvalidParameterValueException', /RetrievalByteRange/],
    [{ Type: 'inventory-retrieval', Format: 'XML' }, 400, 'InvalidParameterValueException', /Format/],
    [{ Type: 'inventory-retrieval', InventoryRetrievalParameters: { Limit: '0' } }, 400, 'InvalidParameterValueException', /Limit/],
    [{ Type: 'inventory-retrieval', InventoryRetrievalParameters: { Limit: 'ten' } }, 400, 'InvalidParameterValueException', /Limit/],
    [{ Type: 'inventory-retrieval', InventoryRetrievalParameters: { StartDate: 'yesterday' } }, 400, 'InvalidParameterValueException', /StartDate/],
    [
      { Type: 'inventory-retrieval', InventoryRetrievalParameters: { StartDate: '2020-01-02T00:00:00Z', EndDate: '2020-01-01T00:00:00Z' } },
      400,
      'InvalidParameterValueException',
      /before/,
    ],
    [{ Type: 'inventory-retrieval', InventoryRetrievalParameters: { Marker: 'not a marker!' } }, 400, 'InvalidParameterValueException', /Marker/],
    [{ Type: 'archive-retrieval' }, 400, 'MissingParameterValueException', /ArchiveId/],
    [{ Type: 'archive-retrieval', ArchiveId: archiveId, Format: 'CSV' }, 400, 'InvalidParameterValueException', /Format/],
    [{ Type: 'archive-retrieval', ArchiveId: archiveId, Tier: 'Fast' }, 400, 'InvalidParameterValueException', /Tier/],
    [{ Type: 'archive-retrieval', ArchiveId: archiveId, RetrievalByteRange: '1-1048576' }, 400, 'InvalidParameterValueException', /aligned/],
    [{ Type: 'archive-retrieval', ArchiveId: archiveId, RetrievalByteRange: '0-1048577' }, 400, 'InvalidParameterValueException', /aligned/],
    [{ Type: 'archive-retrieval', ArchiveId: archiveId, RetrievalByteRange: `0-${size}` }, 400, 'InvalidParameterValueException', /exceeds/],
    [{ Type: 'archive-retrieval', ArchiveId: archiveId, RetrievalByteRange: '2097152-1048575' }, 400, 'InvalidParameterValueException'],
    [{ Type: 'archive-retrieval', ArchiveId: archiveId, RetrievalByteRange: 'bytes=0-1' }, 400, 'InvalidParameterValueException'],
    [{ Type: 'archive-retrieval', ArchiveId: archiveId, Description: 'tab\there' }, 400, 'InvalidParameterValueException', /description/],
    [{ Type: 'archive-retrieval', ArchiveId: archiveId, Description: 'x'.repeat(1025) }, 400, 'InvalidParameterValueException', /description/],
    [{ Type: 'archive-retrieval', ArchiveId: archiveId, SNSTopic: 'my-topic' }, 400, 'InvalidParameterValueException', /SNS/],
    [{ Type: 'archive-retrieval', ArchiveId: archiveId, SelectParameters: {} }, 400, 'InvalidParameterValueException', /SelectParameters/],
    [{ Type: 'archive-retrieval', ArchiveId: 'A'.repeat(138) }, 404, 'ResourceNotFoundException'],
  ];
  for (const [params, status, code, msg] of bad) {
    const r = await g.initiateJob(params);
    expectError(r, status, code, msg);
  }
  // A JSON body that is not an object, and no body at all.
  expectError(await g.req('POST', '/jobs', { body: '[]' }), 400, 'SerializationException');
  expectError(await g.req('POST', '/jobs'), 400, 'MissingParameterValueException');
  expectError(await new RawGlacier(s.url, 'no-such-vault').initiateJob({ Type: 'inventory-retrieval' }), 404, 'ResourceNotFoundException');

  // Valid edge cases: a range ending at the last byte, a 1-MiB range, a description of exactly 1024 characters.
  for (const p of [
    { RetrievalByteRange: `${3 * MiB}-${size - 1}` },
    { RetrievalByteRange: `0-${MiB - 1}` },
    { Description: ' ~'.repeat(512), Tier: 'Bulk' },
    { SNSTopic: 'arn:aws:sns:us-east-1:111122223333:my_topic-1' },
  ]) {
    await initiate(g, { Type: 'archive-retrieval', ArchiveId: archiveId, ...p });
  }
  const r = await g.initiateJob({ Type: 'inventory-retrieval' });
  assert.equal(r.status, 202);
  const id = String(r.headers['x-amz-job-id']);
  assert.match(id, /^[A-Za-z0-9_-]{92}$/);
  assert.equal(r.headers.location, `/${TEST_ACCOUNT}/vaults/jobs-validate/jobs/${id}`);
  assert.equal(r.body.length, 0);
});

test('archive retrieval: DescribeJob fields while InProgress and after, output with tree hash and description', async () => {
  const g = await vault('jobs-archive');
  const bytes = seededBytes('whole', 3 * MiB + 17);
  const archiveId = await upload(g, 'my "quoted", description', bytes);
  const jobId = await initiate(g, { Type: 'archive-retrieval', ArchiveId: archiveId, Description: 'restore it' });

  let d = await describe(g, jobId);
  assert.deepEqual(Object.keys(d), JOB_KEYS);
  assert.equal(d.Action, 'ArchiveRetrieval');
  assert.equal(d.ArchiveId, archiveId);
  assert.equal(d.ArchiveSizeInBytes, bytes.length);
  assert.equal(d.ArchiveSHA256TreeHash, treeHash(bytes));
  // No range requested: SHA256TreeHash equals ArchiveSHA256TreeHash from the start (DG api-describe-job-get).
  assert.equal(d.SHA256TreeHash, treeHash(bytes));
  assert.equal(d.RetrievalByteRange, `0-${bytes.length - 1}`);
  assert.equal(d.Completed, false);
  assert.equal(d.StatusCode, 'InProgress');
  assert.equal(d.StatusMessage, 'Operation in progress.');
  assert.equal(d.CompletionDate, null);
  assert.equal(d.Tier, 'Standard');
  assert.equal(d.JobDescription, 'restore it');
  assert.equal(d.InventoryRetrievalParameters, null);
  assert.equal(d.InventorySizeInBytes, null);
  assert.equal(d.SNSTopic, null);
  assert.equal(d.VaultARN, ARN('jobs-archive'));
  assert.match(d.CreationDate, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

  expectError(await g.getJobOutput(jobId), 400, 'InvalidParameterValueException', `The job is not currently available for download: ${jobId}`);

  // Standard is 3–5 h: still running after 2 h 59 min, done after 5 h.
  await advance(3 * H - 60_000);
  assert.equal((await describe(g, jobId)).StatusCode, 'InProgress');
  await advance(2 * H + 60_000);
  d = await describe(g, jobId);
  assert.equal(d.StatusCode, 'Succeeded');
  assert.equal(d.StatusMessage, 'Succeeded');
  assert.equal(d.Completed, true);
  assert.match(d.CompletionDate, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.ok(Date.parse(d.CompletionDate) - Date.parse(d.CreationDate) >= 3 * H);
  assert.equal(d.SHA256TreeHash, treeHash(bytes));

  const out = await g.getJobOutput(jobId);
  assert.equal(out.status, 200);
  assert.equal(out.headers['content-type'], 'application/octet-stream');
  assert.equal(out.headers['accept-ranges'], 'bytes');
  assert.equal(Number(out.headers['content-length']), bytes.length);
  assert.equal(out.headers['content-range'], undefined);
  assert.equal(out.headers['x-amz-archive-description'], 'my "quoted", description');
  assert.equal(out.headers['x-amz-sha256-tree-hash'], treeHash(bytes));
  assert.equal(sha256Hex(out.body), sha256Hex(bytes));
});

test('ranged downloads in 1 MiB chunks (boto2 style, last chunk past EOF) each carry the chunk tree hash', async () => {
  const g = await vault('jobs-chunks');
  const bytes = seededBytes('chunks', 5 * MiB + 12345);
  const archiveId = await upload(g, 'chunks', bytes);
  const jobId = await initiate(g, { Type: 'archive-retrieval', ArchiveId: archiveId, Tier: 'Expedited' });
  await advance(5 * 60_000);
  assert.equal((await describe(g, jobId)).StatusCode, 'Succeeded');
  const parts: Buffer[] = [];
  for (let i = 0; i * MiB < bytes.length; i++) {
    const r = await g.getJobOutput(jobId, `bytes=${i * MiB}-${(i + 1) * MiB - 1}`);
    assert.equal(r.status, 206);
    const end = Math.min((i + 1) * MiB, bytes.length) - 1;
    assert.equal(r.headers['content-range'], `bytes ${i * MiB}-${end}/${bytes.length}`);
    assert.equal(r.body.length, end - i * MiB + 1);
    assert.equal(r.headers['x-amz-sha256-tree-hash'], treeHash(r.body), `chunk ${i}`);
    assert.equal(r.headers['x-amz-sha256-tree-hash'], treeHash(bytes.subarray(i * MiB, end + 1)));
    parts.push(r.body);
  }
  assert.ok(Buffer.concat(parts).equals(bytes));
  // 4 MiB chunks: [0,4) is a tree node; [4, end) is the promoted partial node.
  for (const [a, b] of [
    [0, 4 * MiB - 1],
    [4 * MiB, 8 * MiB - 1],
  ] as const) {
    const r = await g.getJobOutput(jobId, `bytes=${a}-${b}`);
    assert.equal(r.status, 206);
    assert.equal(r.headers['x-amz-sha256-tree-hash'], treeHash(bytes.subarray(a, b + 1)));
  }
  // Not tree-hash aligned: 1–3 MiB, and an odd byte range. Data, but no checksum header.
  for (const range of [`bytes=${MiB}-${3 * MiB - 1}`, 'bytes=10-99']) {
    const r = await g.getJobOutput(jobId, range);
    assert.equal(r.status, 206);
    assert.equal(r.headers['x-amz-sha256-tree-hash'], undefined, range);
    const [a, b] = range.slice(6).split('-').map(Number) as [number, number];
    assert.ok(r.body.equals(bytes.subarray(a, b + 1)));
  }
  expectError(await g.getJobOutput(jobId, `bytes=${bytes.length}-${bytes.length + 10}`), 400, 'InvalidParameterValueException', /not satisfiable/);
  expectError(await g.getJobOutput(jobId, 'bytes=5-1'), 400, 'InvalidParameterValueException');
});

test('RetrievalByteRange: output and hashes are relative to the retrieved range (DG checksum-calculations worked examples)', async () => {
  const g = await vault('jobs-range');
  const size = 6.5 * MiB;
  const bytes = seededBytes('range', size);
  const archiveId = await upload(g, 'six and a half', bytes);
  const cases = [
    { range: `${2 * MiB}-${4 * MiB - 1}`, aligned: true },
    { range: `${MiB}-${3 * MiB - 1}`, aligned: false },
    { range: `${4 * MiB}-${size - 1}`, aligned: true },
    { range: `${3 * MiB}-${4 * MiB - 1}`, aligned: true },
    { range: `0-${size - 1}`, aligned: true },
  ];
  const jobs: string[] = [];
  for (const c of cases) jobs.push(await initiate(g, { Type: 'archive-retrieval', ArchiveId: archiveId, RetrievalByteRange: c.range, Tier: 'Bulk' }));
  for (const j of jobs) {
    // An explicit range (even the whole archive) reports SHA256TreeHash only once known.
    assert.equal((await describe(g, j)).SHA256TreeHash, null);
  }
  await advance(12 * H);
  for (const [i, c] of cases.entries()) {
    const [a, b] = c.range.split('-').map(Number) as [number, number];
    const want = bytes.subarray(a, b + 1);
    const d = await describe(g, jobs[i]!);
    assert.equal(d.StatusCode, 'Succeeded');
    assert.equal(d.RetrievalByteRange, c.range);
    assert.equal(d.Tier, 'Bulk');
    assert.equal(d.SHA256TreeHash, c.aligned ? treeHash(want) : null, c.range);
    const out = await g.getJobOutput(jobs[i]!);
    assert.equal(out.status, 200);
    assert.ok(out.body.equals(want));
    assert.equal(out.headers['x-amz-sha256-tree-hash'], c.aligned ? treeHash(want) : undefined, c.range);
  }
  // Unaligned retrieval 1–3 MiB: a download of its first MiB is archive [1,2) MiB, a tree node,
  // but the DG requires the retrieval itself to be aligned, so still no header.
  const r = await g.getJobOutput(jobs[1]!, `bytes=0-${MiB - 1}`);
  assert.equal(r.status, 206);
  assert.equal(r.headers['x-amz-sha256-tree-hash'], undefined);
  // Aligned retrieval 4 MiB–end: download of its first 2 MiB is archive [4,6) MiB, a tree node.
  const r2 = await g.getJobOutput(jobs[2]!, `bytes=0-${2 * MiB - 1}`);
  assert.equal(r2.headers['x-amz-sha256-tree-hash'], treeHash(bytes.subarray(4 * MiB, 6 * MiB)));
  assert.equal(r2.headers['content-range'], `bytes 0-${2 * MiB - 1}/${2.5 * MiB}`);
});

test('an archive deleted before the job runs fails the job; one deleted after stays downloadable', async () => {
  const g = await vault('jobs-deleted');
  const a = seededBytes('a', 2 * MiB);
  const b = seededBytes('b', 1000);
  const idA = await upload(g, 'a', a);
  const idB = await upload(g, 'b', b);
  const jobA = await initiate(g, { Type: 'archive-retrieval', ArchiveId: idA, Tier: 'Expedited' });
  assert.equal((await g.req('DELETE', `/archives/${idA}`)).status, 204);
  const jobB = await initiate(g, { Type: 'archive-retrieval', ArchiveId: idB, Tier: 'Expedited' });
  await advance(5 * 60_000);
  const dA = await describe(g, jobA);
  assert.equal(dA.StatusCode, 'Failed');
  assert.equal(dA.Completed, true);
  assert.notEqual(dA.CompletionDate, null);
  assert.match(dA.StatusMessage, /deleted/);
  expectError(await g.getJobOutput(jobA), 400, 'InvalidParameterValueException', `The job is not currently available for download: ${jobA}`);

  // Initiated after the archive was deleted: accepted, then Failed.
  const jobA2 = await initiate(g, { Type: 'archive-retrieval', ArchiveId: idA, Tier: 'Expedited' });
  const dA2 = await describe(g, jobA2);
  assert.equal(dA2.StatusCode, 'InProgress');
  assert.equal(dA2.ArchiveSizeInBytes, a.length);
  await advance(5 * 60_000);
  assert.equal((await describe(g, jobA2)).StatusCode, 'Failed');

  assert.equal((await describe(g, jobB)).StatusCode, 'Succeeded');
  assert.equal((await g.req('DELETE', `/archives/${idB}`)).status, 204);
  await s.running.app.blobMaintenance.collect?.();
  const out = await g.getJobOutput(jobB);
  assert.equal(out.status, 200);
  assert.ok(out.body.equals(b));
  assert.equal(out.headers['x-amz-sha256-tree-hash'], treeHash(b));
  // After the 24 h window the job is gone: 404 everywhere, no longer listed.
  await advance(24 * H + 1000);
  expectError(await g.describeJob(jobB), 404, 'ResourceNotFoundException', `The job ID was not found: ${jobB}`);
  expectError(await g.getJobOutput(jobB), 404, 'ResourceNotFoundException');
  const list = (await g.req('GET', '/jobs')).json();
  assert.deepEqual(list.JobList, []);
  expectError(await g.describeJob('x'.repeat(92)), 404, 'ResourceNotFoundException', `The job ID was not found: ${'x'.repeat(92)}`);
});

test('ListJobs: creation order, statuscode and completed filters, limit/marker paging', async () => {
  const g = await vault('jobs-list');
  const id = await upload(g, 'l', seededBytes('l', 100));
  const exp: string[] = [];
  const std: string[] = [];
  for (let i = 0; i < 3; i++) {
    exp.push(await initiate(g, { Type: 'archive-retrieval', ArchiveId: id, Tier: 'Expedited' }));
    std.push(await initiate(g, { Type: 'archive-retrieval', ArchiveId: id }));
  }
  const all = [exp[0], std[0], exp[1], std[1], exp[2], std[2]];
  await advance(5 * 60_000);
  const list = async (query: Record<string, string>) => {
    const r = await g.req('GET', '/jobs', { query });
    assert.equal(r.status, 200, r.body.toString());
    return r.json();
  };
  let j = await list({});
  assert.deepEqual(Object.keys(j), ['JobList', 'Marker']);
  assert.deepEqual(j.JobList.map((x: any) => x.JobId), all);
  assert.equal(j.Marker, null);
  for (const x of j.JobList) assert.deepEqual(Object.keys(x), JOB_KEYS);
  assert.deepEqual((await list({ statuscode: 'Succeeded' })).JobList.map((x: any) => x.JobId), exp);
  assert.deepEqual((await list({ statuscode: 'InProgress' })).JobList.map((x: any) => x.JobId), std);
  assert.deepEqual((await list({ completed: 'true' })).JobList.map((x: any) => x.JobId), exp);
  assert.deepEqual((await list({ completed: 'false' })).JobList.map((x: any) => x.JobId), std);
  assert.deepEqual((await list({ completed: 'false', statuscode: 'Succeeded' })).JobList, []);
  assert.deepEqual((await list({ statuscode: 'Failed' })).JobList, []);
  expectError(await g.req('GET', '/jobs', { query: { statuscode: 'finished' } }), 400, 'InvalidParameterValueException', 'The job status code is not valid: finished');
  expectError(await g.req('GET', '/jobs', { query: { completed: 'yes' } }), 400, 'InvalidParameterValueException');
  expectError(await g.req('GET', '/jobs', { query: { limit: '51' } }), 400, 'InvalidParameterValueException');
  expectError(await g.req('GET', '/jobs', { query: { limit: '0' } }), 400, 'InvalidParameterValueException');

  // Paging by 4: the Marker is the last returned JobId; null on the last page.
  const seen: string[] = [];
  let marker: string | null = null;
  let pages = 0;
  do {
    j = await list({ limit: '4', ...(marker ? { marker } : {}) });
    seen.push(...j.JobList.map((x: any) => x.JobId));
    marker = j.Marker;
    if (marker) assert.equal(marker, j.JobList.at(-1).JobId);
    pages++;
  } while (marker);
  assert.deepEqual(seen, all);
  assert.equal(pages, 2);
  // Exactly a page: no dangling marker.
  j = await list({ limit: '6' });
  assert.equal(j.Marker, null);
  j = await list({ limit: '3', statuscode: 'InProgress' });
  assert.equal(j.Marker, null);
  assert.deepEqual(j.JobList.map((x: any) => x.JobId), std);
});

/** Minimal parser for Glacier's CSV: description always quoted, `"` escaped as `\"`. */
function parseCsv(body: string): string[][] {
  const lines = body.split('\n');
  assert.equal(lines.at(-1), '');
  return lines.slice(0, -1).map((l, i) => {
    if (i === 0) return l.split(',');
    const m = /^([A-Za-z0-9_-]+),"((?:[^"\\]|\\.)*)",([^,]+),(\d+),([0-9a-f]{64})$/.exec(l);
    assert.ok(m, `bad CSV line: ${l}`);
    return [m[1]!, m[2]!.replace(/\\"/g, '"'), m[3]!, m[4]!, m[5]!];
  });
}

test('inventory retrieval: JSON and CSV exactly as DG api-job-output-get', async () => {
  const g = await vault('jobs-inventory');
  const descs = ['plain', '', 'with, comma', 'with "quotes"', 'back\\slash', 'inner  double  spaces'];
  const archives: { id: string; desc: string; bytes: Buffer; createdAt?: string }[] = [];
  for (const [i, desc] of descs.entries()) {
    const bytes = seededBytes(`inv${i}`, 10 + i * 1000);
    archives.push({ id: await upload(g, desc, bytes), desc, bytes });
    s.clock.advance(1000);
  }
  const jsonJob = await initiate(g, { Type: 'inventory-retrieval' });
  const csvJob = await initiate(g, { Type: 'inventory-retrieval', Format: 'CSV', Description: 'csv please' });
  let d = await describe(g, jsonJob);
  assert.deepEqual(Object.keys(d), JOB_KEYS);
  assert.equal(d.Action, 'InventoryRetrieval');
  assert.equal(d.ArchiveId, null);
  assert.equal(d.ArchiveSizeInBytes, null);
  assert.equal(d.ArchiveSHA256TreeHash, null);
  assert.equal(d.SHA256TreeHash, null);
  assert.equal(d.RetrievalByteRange, null);
  assert.equal(d.Tier, null);
  assert.equal(d.InventorySizeInBytes, null);
  assert.deepEqual(d.InventoryRetrievalParameters, { EndDate: null, Format: 'JSON', Limit: null, Marker: null, StartDate: null });
  assert.deepEqual(Object.keys(d.InventoryRetrievalParameters), ['EndDate', 'Format', 'Limit', 'Marker', 'StartDate']);
  expectError(await g.getJobOutput(jsonJob), 400, 'InvalidParameterValueException', `The job is not currently available for download: ${jsonJob}`);
  await advance(5 * H);
  d = await describe(g, jsonJob);
  assert.equal(d.StatusCode, 'Succeeded');

  const out = await g.getJobOutput(jsonJob);
  assert.equal(out.status, 200);
  assert.equal(out.headers['content-type'], 'application/json');
  assert.equal(out.headers['x-amz-sha256-tree-hash'], undefined);
  assert.equal(out.headers['x-amz-archive-description'], undefined);
  assert.equal(d.InventorySizeInBytes, out.body.length);
  const text = out.body.toString('utf8');
  assert.ok(!text.includes('\n') && !text.includes(': '), 'compact JSON');
  const inv = JSON.parse(text);
  assert.deepEqual(Object.keys(inv), ['VaultARN', 'InventoryDate', 'ArchiveList']);
  assert.equal(inv.VaultARN, ARN('jobs-inventory'));
  assert.match(inv.InventoryDate, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal(inv.ArchiveList.length, archives.length);
  for (const [i, item] of inv.ArchiveList.entries()) {
    assert.deepEqual(Object.keys(item), ['ArchiveId', 'ArchiveDescription', 'CreationDate', 'Size', 'SHA256TreeHash']);
    assert.equal(item.ArchiveId, archives[i]!.id);
    assert.equal(item.ArchiveDescription, archives[i]!.desc);
    assert.equal(item.Size, archives[i]!.bytes.length);
    assert.equal(item.SHA256TreeHash, treeHash(archives[i]!.bytes));
    assert.match(item.CreationDate, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  }

  const csv = await g.getJobOutput(csvJob);
  assert.equal(csv.status, 200);
  assert.equal(csv.headers['content-type'], 'text/csv');
  assert.equal((await describe(g, csvJob)).InventorySizeInBytes, csv.body.length);
  const body = csv.body.toString('utf8');
  assert.ok(body.includes(`,"with \\"quotes\\"",`), 'embedded quote escaped as \\"');
  assert.ok(body.includes(`,"back\\slash",`), 'backslash not escaped');
  assert.ok(body.includes(`,"",`), 'empty description is ""');
  const rows = parseCsv(body);
  assert.deepEqual(rows[0], ['ArchiveId', 'ArchiveDescription', 'CreationDate', 'Size', 'SHA256TreeHash']);
  assert.deepEqual(
    rows.slice(1),
    inv.ArchiveList.map((x: any) => [x.ArchiveId, x.ArchiveDescription, x.CreationDate, String(x.Size), x.SHA256TreeHash]),
  );
  // A range of an inventory: 206 with Content-Range over the output, no tree hash.
  const part = await g.getJobOutput(csvJob, 'bytes=0-9');
  assert.equal(part.status, 206);
  assert.equal(part.body.toString(), 'ArchiveId,');
  assert.equal(part.headers['content-range'], `bytes 0-9/${csv.body.length}`);
  assert.equal(part.headers['x-amz-sha256-tree-hash'], undefined);
});

test('inventory Limit and Marker chain through successive jobs until null; StartDate/EndDate filter', async () => {
  const g = await vault('jobs-inv-paging');
  const ids: string[] = [];
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    times.push(s.clock.now());
    ids.push(await upload(g, `a${i}`, Buffer.from(`archive ${i}`)));
    s.clock.advance(10_000);
  }
  const seen: string[] = [];
  let marker: string | null = null;
  let jobs = 0;
  do {
    const params: Record<string, unknown> = { Limit: '3', ...(marker ? { Marker: marker } : {}) };
    const jobId = await initiate(g, { Type: 'inventory-retrieval', InventoryRetrievalParameters: params });
    await advance(5 * H);
    const d = await describe(g, jobId);
    assert.equal(d.StatusCode, 'Succeeded');
    assert.equal(d.InventoryRetrievalParameters.Limit, '3');
    const list = JSON.parse((await g.getJobOutput(jobId)).body.toString()).ArchiveList;
    assert.ok(list.length <= 3);
    seen.push(...list.map((x: any) => x.ArchiveId));
    marker = d.InventoryRetrievalParameters.Marker;
    if (marker !== null) assert.match(marker, /^[A-Za-z0-9_-]+$/);
    jobs++;
  } while (marker !== null);
  assert.equal(jobs, 3);
  assert.deepEqual(seen, ids);

  // Exactly Limit items left: Marker null, not a page that turns out empty.
  const exact = await initiate(g, { Type: 'inventory-retrieval', InventoryRetrievalParameters: { Limit: '7' } });
  await advance(5 * H);
  assert.equal((await describe(g, exact)).InventoryRetrievalParameters.Marker, null);

  // StartDate inclusive, EndDate exclusive, echoed exactly as given; archives were created 10 s apart.
  const iso = (t: number) => new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
  // Bounds 5 s away from any creation time (archives are 10 s apart), on whole seconds.
  const startDate = iso(Math.floor(times[2]! / 1000) * 1000 - 5000);
  const endDate = iso(Math.floor(times[5]! / 1000) * 1000 + 5000);
  const jobId = await initiate(g, { Type: 'inventory-retrieval', Format: 'CSV', InventoryRetrievalParameters: { StartDate: startDate, EndDate: endDate } });
  await advance(5 * H);
  const d = await describe(g, jobId);
  assert.deepEqual(d.InventoryRetrievalParameters, { EndDate: endDate, Format: 'CSV', Limit: null, Marker: null, StartDate: startDate });
  const rows = parseCsv((await g.getJobOutput(jobId)).body.toString()).slice(1);
  assert.deepEqual(rows.map((r) => r[0]), ids.slice(2, 6));
  // StartDate alone; EndDate alone.
  const onlyStart = await initiate(g, { Type: 'inventory-retrieval', InventoryRetrievalParameters: { StartDate: startDate } });
  const onlyEnd = await initiate(g, { Type: 'inventory-retrieval', InventoryRetrievalParameters: { EndDate: endDate } });
  await advance(5 * H);
  const listOf = async (id: string) => JSON.parse((await g.getJobOutput(id)).body.toString()).ArchiveList.map((x: any) => x.ArchiveId);
  assert.deepEqual(await listOf(onlyStart), ids.slice(2));
  assert.deepEqual(await listOf(onlyEnd), ids.slice(0, 6));
});

test('completion writes one outbox row per destination (job SNSTopic and vault configuration), with the DescribeJob JSON', async () => {
  const g = await vault('jobs-notify');
  const vaultTopic = 'arn:aws:sns:us-east-1:111122223333:vault-topic';
  const jobTopic = 'arn:aws:sns:us-east-1:111122223333:job-topic';
  const r = await g.req('PUT', '/notification-configuration', { body: JSON.stringify({ SNSTopic: vaultTopic, Events: ['InventoryRetrievalCompleted'] }) });
  assert.equal(r.status, 204, r.body.toString());
  const archiveId = await upload(g, 'n', Buffer.from('notify me'));
  const invJob = await initiate(g, { Type: 'inventory-retrieval', SNSTopic: jobTopic });
  const arcJob = await initiate(g, { Type: 'archive-retrieval', ArchiveId: archiveId, Tier: 'Expedited' });
  const rows = () => storeRows<{ topic_arn: string; message: string }>(s, 'SELECT topic_arn, message FROM notification_outbox ORDER BY id');
  const before = (await rows()).length;
  await advance(5 * H);
  const added = (await rows()).slice(before);
  // The archive job has no topic and the vault only subscribes to inventory completions.
  assert.deepEqual(added.map((x) => x.topic_arn).sort(), [jobTopic, vaultTopic].sort());
  const d = await describe(g, invJob);
  for (const row of added) assert.deepEqual(JSON.parse(row.message), d);
  assert.equal((await describe(g, arcJob)).StatusCode, 'Succeeded');
});

test('test-control API is off by default (404)', async () => {
  const r = await s.request({ method: 'POST', path: '/_firn/test/clock/advance', body: JSON.stringify({ seconds: 10 }) });
  assert.equal(r.status, 404);
});

test('a multipart archive retrieves across part boundaries, with leaf-derived tree hashes', async () => {
  const g = await vault('jobs-multipart');
  const bytes = seededBytes('multipart', 3.5 * MiB);
  const init = await g.initiateMultipart(MiB, 'multi');
  assert.equal(init.status, 201, init.body.toString());
  const uploadId = String(init.headers['x-amz-multipart-upload-id']);
  for (let off = 0; off < bytes.length; off += MiB) {
    const r = await g.uploadPart(uploadId, off, bytes.subarray(off, off + MiB));
    assert.equal(r.status, 204, r.body.toString());
  }
  const done = await g.completeMultipart(uploadId, bytes.length, treeHash(bytes));
  assert.equal(done.status, 201, done.body.toString());
  const archiveId = String(done.headers['x-amz-archive-id']);
  const whole = await initiate(g, { Type: 'archive-retrieval', ArchiveId: archiveId, Tier: 'Expedited' });
  const tail = await initiate(g, { Type: 'archive-retrieval', ArchiveId: archiveId, Tier: 'Expedited', RetrievalByteRange: `${2 * MiB}-${bytes.length - 1}` });
  await advance(5 * 60_000);
  const out = await g.getJobOutput(whole);
  assert.ok(out.body.equals(bytes));
  assert.equal(out.headers['x-amz-sha256-tree-hash'], treeHash(bytes));
  // Output bytes 0.5–2.5 MiB cross two part boundaries; no checksum (not aligned), exact bytes.
  const mid = await g.getJobOutput(whole, `bytes=${MiB / 2}-${2.5 * MiB - 1}`);
  assert.ok(mid.body.equals(bytes.subarray(MiB / 2, 2.5 * MiB)));
  assert.equal(mid.headers['x-amz-sha256-tree-hash'], undefined);
  assert.equal((await describe(g, tail)).SHA256TreeHash, treeHash(bytes.subarray(2 * MiB)));
  const t = await g.getJobOutput(tail, `bytes=${MiB}-${2 * MiB}`);
  assert.equal(t.status, 206);
  assert.equal(t.headers['content-range'], `bytes ${MiB}-${1.5 * MiB - 1}/${1.5 * MiB}`);
  assert.equal(t.headers['x-amz-sha256-tree-hash'], treeHash(bytes.subarray(3 * MiB)));
  assert.ok(t.body.equals(bytes.subarray(3 * MiB)));
});
