/**
 * Every integer that crosses the wire, at the 64-bit limits: 2^53 + 1 (the first integer a double
 * rounds), 2^63 − 1 (the largest Java long, the model's maximum) and 2^63 (one past it). A value in
 * the documented range is carried exactly; one outside it is refused with
 * InvalidParameterValueException quoting the value as sent, never rounded, never a 5xx.
 * (BytesPerHour, the one field whose range reaches 2^63 − 1, is in policies.test.ts.)
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type RawResponse, type TestServer } from '../helpers/server.js';
import { RawGlacier, sha256Hex } from '../helpers/glacier-raw.js';
import { treeHash } from '../../src/domain/treehash.js';

const P53 = '9007199254740993';
const MAX = '9223372036854775807';
const P63 = '9223372036854775808';
const LIMITS = [P53, MAX, P63];

let s: TestServer;
let g: RawGlacier;
let archiveId: string;
let jobId: string;
let uploadId: string;
before(async () => {
  s = await startTestServer();
  g = new RawGlacier(s.url, 'ints');
  await g.createVault();
  const up = await g.uploadArchive(Buffer.alloc(1000, 5), 'a');
  archiveId = String(up.headers['x-amz-archive-id']);
  jobId = String((await g.initiateJob({ Type: 'archive-retrieval', ArchiveId: archiveId })).headers['x-amz-job-id']);
  await s.running.app.jobs.runDue();
  uploadId = String((await g.initiateMultipart(1024 * 1024, 'm')).headers['x-amz-multipart-upload-id']);
});
after(async () => {
  await s.close();
});

function refused(r: RawResponse, raw: string, what: string): void {
  assert.equal(r.status, 400, `${what} ${raw}: ${r.body.toString()}`);
  assert.equal(r.json().code, 'InvalidParameterValueException', `${what} ${raw}`);
  assert.ok(r.json().message.includes(raw), `${what}: the message quotes ${raw} exactly: ${r.json().message}`);
}

test('InventoryRetrievalParameters.Limit (≥ 1, a 64-bit integer): exact up to 2^63 − 1 as a string or a JSON integer, 2^63 refused', async () => {
  for (const [limit, sent] of [
    [P53, `"${P53}"`],
    [MAX, `"${MAX}"`],
    [P53, P53],
    [MAX, MAX],
  ] as const) {
    const r = await g.req('POST', '/jobs', { body: `{"Type":"inventory-retrieval","InventoryRetrievalParameters":{"Limit":${sent}}}` });
    assert.equal(r.status, 202, r.body.toString());
    const d = await g.describeJob(String(r.headers['x-amz-job-id']));
    assert.equal(d.json().InventoryRetrievalParameters.Limit, limit, `DescribeJob echoes ${sent} exactly`);
  }
  for (const sent of [`"${P63}"`, P63, '"18446744073709551616"', '"0"', '1e19']) {
    const r = await g.req('POST', '/jobs', { body: `{"Type":"inventory-retrieval","InventoryRetrievalParameters":{"Limit":${sent}}}` });
    // 1e19 is a double, not an integer literal: refused, and quoted as JSON writes that double.
    refused(r, sent === '1e19' ? '10000000000000000000' : sent.replace(/"/g, ''), 'Limit');
  }
});

test('RetrievalByteRange: an end at 2^53 + 1, 2^63 − 1 or 2^63 lies past the archive', async () => {
  for (const n of LIMITS) {
    const raw = `0-${n}`;
    refused(await g.initiateJob({ Type: 'archive-retrieval', ArchiveId: archiveId, RetrievalByteRange: raw }), raw, 'RetrievalByteRange');
    const from = `${n}-${n}`;
    refused(await g.initiateJob({ Type: 'archive-retrieval', ArchiveId: archiveId, RetrievalByteRange: from }), from, 'RetrievalByteRange');
  }
});

test('x-amz-part-size, x-amz-archive-size, Content-Range and Content-Length: refused at every limit', async () => {
  for (const n of LIMITS) {
    refused(await g.req('POST', '/multipart-uploads', { headers: { 'x-amz-part-size': n } }), n, 'x-amz-part-size');
    refused(await g.req('POST', `/multipart-uploads/${uploadId}`, { headers: { 'x-amz-archive-size': n, 'x-amz-sha256-tree-hash': '0'.repeat(64) } }), n, 'x-amz-archive-size');
    const body = Buffer.alloc(10, 1);
    for (const range of [`bytes ${n}-${n}/*`, `bytes 0-${n}/*`]) {
      const r = await g.req('PUT', `/multipart-uploads/${uploadId}`, {
        body,
        headers: { 'content-range': range, 'x-amz-sha256-tree-hash': treeHash(body), 'content-type': 'application/octet-stream' },
      });
      refused(r, range, 'Content-Range');
    }
    // A declared length the body never reaches: refused from the headers, before a byte is read.
    const r = await g.req('POST', '/archives', {
      body,
      headers: { 'content-length': n, 'x-amz-sha256-tree-hash': treeHash(body), 'x-amz-content-sha256': sha256Hex(body) },
    });
    refused(r, n, 'Content-Length');
  }
  // Nothing of it was stored.
  assert.equal((await g.listAllParts(uploadId) as { parts: unknown[] }).parts.length, 0);
});

test('query limit of the List operations and the GetJobOutput Range at every limit', async () => {
  const lists: [string, string][] = [
    ['/-/vaults', 'ListVaults'],
    ['/-/vaults/ints/jobs', 'ListJobs'],
    ['/-/vaults/ints/multipart-uploads', 'ListMultipartUploads'],
    [`/-/vaults/ints/multipart-uploads/${uploadId}`, 'ListParts'],
  ];
  for (const n of LIMITS) {
    for (const [path, op] of lists) refused(await s.request({ method: 'GET', path, query: { limit: n } }), n, op);
    // A start past the output is not satisfiable; an end past it is clamped (HTTP, and boto2's chunked reads).
    refused(await g.getJobOutput(jobId, `bytes=${n}-`), `bytes=${n}-`, 'Range');
    const whole = await g.getJobOutput(jobId, `bytes=0-${n}`);
    assert.equal(whole.status, 206);
    assert.equal(whole.headers['content-range'], 'bytes 0-999/1000');
  }
});
