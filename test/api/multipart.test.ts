import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startTestServer, TEST_ACCOUNT, type TestServer } from '../helpers/server.js';
import { blobFiles, uploadPart } from '../helpers/uploads.js';
import { treeHash, MiB } from '../../src/domain/treehash.js';

let s: TestServer;
const ARN = (v: string) => `arn:aws:glacier:us-east-1:${TEST_ACCOUNT}:vaults/${v}`;

before(async () => {
  s = await startTestServer();
  assert.equal((await s.request({ method: 'PUT', path: '/-/vaults/mp' })).status, 201);
});
after(async () => {
  await s.close();
});

async function initiate(partSize: number | string | null, description?: string) {
  return s.request({
    method: 'POST',
    path: '/-/vaults/mp/multipart-uploads',
    headers: {
      ...(partSize !== null ? { 'x-amz-part-size': String(partSize) } : {}),
      ...(description !== undefined ? { 'x-amz-archive-description': description } : {}),
    },
  });
}

async function newUpload(partSize: number, description?: string): Promise<string> {
  const r = await initiate(partSize, description);
  assert.equal(r.status, 201, r.body.toString());
  return String(r.headers['x-amz-multipart-upload-id']);
}

function complete(id: string, size: number | null, hash: string | null) {
  return s.request({
    method: 'POST',
    path: `/-/vaults/mp/multipart-uploads/${id}`,
    headers: {
      ...(size !== null ? { 'x-amz-archive-size': String(size) } : {}),
      ...(hash !== null ? { 'x-amz-sha256-tree-hash': hash } : {}),
    },
  });
}

const listParts = (id: string, query?: Record<string, string>) =>
  s.request({ method: 'GET', path: `/-/vaults/mp/multipart-uploads/${id}`, ...(query ? { query } : {}) });

async function readArchive(archiveId: string): Promise<Buffer> {
  const store = s.running.app.store;
  const v = (await store.vaults.get({ accountId: TEST_ACCOUNT, region: 'us-east-1', name: 'mp' }))!;
  const a = (await store.archives.get(v.id, archiveId))!;
  const chunks: Buffer[] = [];
  for await (const c of s.running.app.blobs.read(a.blobKey, 0, a.size)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

test('InitiateMultipartUpload: 201 with Location and a 92-character upload id', async () => {
  const r = await initiate(MiB, 'desc');
  assert.equal(r.status, 201);
  const id = String(r.headers['x-amz-multipart-upload-id']);
  assert.match(id, /^[A-Za-z0-9_-]{92}$/);
  assert.equal(r.headers.location, `/${TEST_ACCOUNT}/vaults/mp/multipart-uploads/${id}`);
  assert.equal((await initiate(4096 * MiB)).status, 201);
});

test('part size: missing → 400 MissingParameterValueException; not 1 MiB × 2^n up to 4 GiB → 400', async () => {
  let r = await initiate(null);
  assert.equal(r.status, 400);
  assert.equal(r.json().code, 'MissingParameterValueException');
  for (const bad of [0, MiB - 1, 3 * MiB, 8192 * MiB, 'abc', '1048576.0', -MiB]) {
    r = await initiate(bad);
    assert.equal(r.status, 400, String(bad));
    assert.equal(r.json().code, 'InvalidParameterValueException');
  }
});

test('parts in any order and in parallel; ListParts pages by range; Complete composes the tree hash without a copy', async () => {
  const partSize = MiB;
  const data = randomBytes(5 * MiB + 4321);
  const id = await newUpload(partSize, 'five and a bit');
  const starts: number[] = [];
  for (let off = 0; off < data.length; off += partSize) starts.push(off);
  // Out of order and concurrent.
  const order = [3, 0, 5, 1, 4, 2];
  const rs = await Promise.all(order.map((i) => uploadPart(s, 'mp', id, starts[i]!, data.subarray(starts[i]!, starts[i]! + partSize))));
  for (const [k, r] of rs.entries()) {
    assert.equal(r.status, 204, r.body.toString());
    const i = order[k]!;
    assert.equal(r.headers['x-amz-sha256-tree-hash'], treeHash(data.subarray(starts[i]!, starts[i]! + partSize)));
  }
  let page = await listParts(id, { limit: '4' });
  assert.equal(page.status, 200);
  let j = page.json();
  assert.deepEqual(Object.keys(j), ['ArchiveDescription', 'CreationDate', 'Marker', 'MultipartUploadId', 'PartSizeInBytes', 'Parts', 'VaultARN']);
  assert.equal(j.ArchiveDescription, 'five and a bit');
  assert.equal(j.MultipartUploadId, id);
  assert.equal(j.PartSizeInBytes, partSize);
  assert.equal(j.VaultARN, ARN('mp'));
  assert.deepEqual(
    j.Parts.map((p: { RangeInBytes: string }) => p.RangeInBytes),
    ['0-1048575', '1048576-2097151', '2097152-3145727', '3145728-4194303'],
  );
  assert.equal(j.Parts[0].SHA256TreeHash, treeHash(data.subarray(0, MiB)));
  assert.equal(typeof j.Marker, 'string');
  page = await listParts(id, { limit: '4', marker: j.Marker });
  j = page.json();
  assert.deepEqual(j.Parts.map((p: { RangeInBytes: string }) => p.RangeInBytes), ['4194304-5242879', `5242880-${data.length - 1}`]);
  assert.equal(j.Marker, null);

  const filesBefore = blobFiles(s).data.length;
  const c = await complete(id, data.length, treeHash(data));
  assert.equal(c.status, 201, c.body.toString());
  const archiveId = String(c.headers['x-amz-archive-id']);
  assert.match(archiveId, /^[A-Za-z0-9_-]{138}$/);
  assert.equal(c.headers.location, `/${TEST_ACCOUNT}/vaults/mp/archives/${archiveId}`);
  assert.equal(c.headers['x-amz-sha256-tree-hash'], treeHash(data));
  // Only a small manifest was added: the parts were not copied into a new file.
  assert.equal(blobFiles(s).data.length, filesBefore + 1);
  assert.ok((await readArchive(archiveId)).equals(data));
  assert.equal((await s.running.app.store.archives.getLeaves(archiveId))!.length, 6 * 32);

  // Idempotent for a short period: same archive id, no second archive.
  const again = await complete(id, data.length, treeHash(data));
  assert.equal(again.status, 201);
  assert.equal(again.headers['x-amz-archive-id'], archiveId);
  const v = (await s.request({ method: 'GET', path: '/-/vaults/mp' })).json();
  assert.equal(v.NumberOfArchives, 1);
  // A repeat that disagrees is refused.
  assert.equal((await complete(id, data.length + 1, treeHash(data))).status, 400);
  // After completion the upload is gone from ListParts and ListMultipartUploads.
  assert.equal((await listParts(id)).status, 404);
  const ups = (await s.request({ method: 'GET', path: '/-/vaults/mp/multipart-uploads' })).json();
  assert.ok(!ups.UploadsList.some((u: { MultipartUploadId: string }) => u.MultipartUploadId === id));
  // Deleting the archive reclaims the manifest and every part.
  assert.equal((await s.request({ method: 'DELETE', path: `/-/vaults/mp/archives/${archiveId}` })).status, 204);
  await s.running.app.blobMaintenance.collect();
  assert.equal(blobFiles(s).data.length, filesBefore - 6);
});

test('a re-uploaded part replaces the earlier one (and its bytes are reclaimed)', async () => {
  const id = await newUpload(MiB);
  const a = randomBytes(MiB);
  const b = randomBytes(MiB);
  const last = randomBytes(10);
  assert.equal((await uploadPart(s, 'mp', id, 0, a)).status, 204);
  const files = blobFiles(s).data.length;
  assert.equal((await uploadPart(s, 'mp', id, 0, b)).status, 204);
  await s.running.app.blobMaintenance.collect();
  assert.equal(blobFiles(s).data.length, files);
  assert.equal((await uploadPart(s, 'mp', id, MiB, last)).status, 204);
  const j = (await listParts(id)).json();
  assert.equal(j.Parts.length, 2);
  assert.equal(j.Parts[0].SHA256TreeHash, treeHash(b));
  const whole = Buffer.concat([b, last]);
  const c = await complete(id, whole.length, treeHash(whole));
  assert.equal(c.status, 201, c.body.toString());
  assert.ok((await readArchive(String(c.headers['x-amz-archive-id']))).equals(whole));
});

test('UploadMultipartPart refusals: range format, alignment, size, Content-Length, part count, hashes; none is recorded', async () => {
  const id = await newUpload(2 * MiB);
  const d = randomBytes(1000);
  const cases: [string, Record<string, string>, Buffer, number, string][] = [
    ['missing Content-Range', { 'content-range': undefined as unknown as string }, d, 400, 'MissingParameterValueException'],
    ['bad format', { 'content-range': 'bytes=0-999' }, d, 400, 'InvalidParameterValueException'],
    ['unaligned start', { 'content-range': `bytes ${MiB}-${MiB + 999}/*` }, d, 400, 'InvalidParameterValueException'],
    ['longer than a part', { 'content-range': `bytes 0-${2 * MiB}/*` }, d, 400, 'InvalidParameterValueException'],
    ['Content-Length ≠ range', { 'content-range': 'bytes 0-1999/*' }, d, 400, 'InvalidParameterValueException'],
    ['beyond 10,000 parts', { 'content-range': `bytes ${10_000 * 2 * MiB}-${10_000 * 2 * MiB + 999}/*` }, d, 400, 'InvalidParameterValueException'],
    ['wrong tree hash', { 'x-amz-sha256-tree-hash': treeHash(Buffer.from('nope')) }, d, 400, 'InvalidParameterValueException'],
    ['wrong content sha256', { 'x-amz-content-sha256': treeHash(Buffer.from('nope')) }, d, 403, 'InvalidSignatureException'],
  ];
  for (const [name, headers, body, status, code] of cases) {
    const r = await uploadPart(s, 'mp', id, 0, body, { headers });
    assert.equal(r.status, status, `${name}: ${r.body}`);
    assert.equal(r.json().code, code, name);
  }
  assert.deepEqual((await listParts(id)).json().Parts, []);
  assert.deepEqual(blobFiles(s).tmp, []);
  assert.equal((await uploadPart(s, 'mp', 'no-such-upload', 0, d)).status, 404);
});

test('Complete failures leave the upload intact and retryable: gap, short middle part, size and hash mismatch', async () => {
  const id = await newUpload(MiB);
  const p0 = randomBytes(MiB);
  const p1 = randomBytes(MiB);
  const p2 = randomBytes(100);
  const whole = Buffer.concat([p0, p1, p2]);
  assert.equal((await complete(id, 0, treeHash(Buffer.alloc(0)))).status, 400);
  await uploadPart(s, 'mp', id, 0, p0);
  await uploadPart(s, 'mp', id, 2 * MiB, p2);
  let r = await complete(id, whole.length, treeHash(whole));
  assert.equal(r.status, 400);
  assert.match(r.json().message, /1048576-2097151/);
  // A short non-final part is accepted at upload time; Complete then refuses it.
  assert.equal((await uploadPart(s, 'mp', id, MiB, p1.subarray(0, 1000))).status, 204);
  r = await complete(id, whole.length, treeHash(whole));
  assert.equal(r.status, 400);
  await uploadPart(s, 'mp', id, MiB, p1);
  r = await complete(id, whole.length + 1, treeHash(whole));
  assert.equal(r.status, 400);
  assert.match(r.json().message, /size/i);
  r = await complete(id, whole.length, treeHash(p0));
  assert.equal(r.status, 400);
  assert.ok(r.json().message.includes(treeHash(whole)));
  assert.equal((await complete(id, null, treeHash(whole))).json().code, 'MissingParameterValueException');
  assert.equal((await complete(id, whole.length, null)).json().code, 'MissingParameterValueException');
  assert.equal((await listParts(id)).json().Parts.length, 3);
  r = await complete(id, whole.length, treeHash(whole));
  assert.equal(r.status, 201, r.body.toString());
  assert.ok((await readArchive(String(r.headers['x-amz-archive-id']))).equals(whole));
});

test('AbortMultipartUpload: 204, parts reclaimed, repeat 204; aborting a completed upload fails', async () => {
  const files = blobFiles(s).data.length;
  const id = await newUpload(MiB);
  await uploadPart(s, 'mp', id, 0, randomBytes(MiB));
  await uploadPart(s, 'mp', id, MiB, randomBytes(5));
  assert.equal(blobFiles(s).data.length, files + 2);
  const del = () => s.request({ method: 'DELETE', path: `/-/vaults/mp/multipart-uploads/${id}` });
  assert.equal((await del()).status, 204);
  await s.running.app.blobMaintenance.collect();
  assert.equal(blobFiles(s).data.length, files);
  assert.equal((await listParts(id)).status, 404);
  assert.equal((await uploadPart(s, 'mp', id, 0, randomBytes(5))).status, 404);
  assert.equal((await del()).status, 204);

  const done = await newUpload(MiB);
  const d = randomBytes(10);
  await uploadPart(s, 'mp', done, 0, d);
  assert.equal((await complete(done, 10, treeHash(d))).status, 201);
  const r = await s.request({ method: 'DELETE', path: `/-/vaults/mp/multipart-uploads/${done}` });
  assert.equal(r.status, 404);
  assert.equal((await s.request({ method: 'DELETE', path: '/-/vaults/mp/multipart-uploads/unknown' })).status, 404);
});

test('ListMultipartUploads pages with limit and marker; limits outside 1–50 are refused', async () => {
  await s.request({ method: 'PUT', path: '/-/vaults/lmu' });
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await s.request({ method: 'POST', path: '/-/vaults/lmu/multipart-uploads', headers: { 'x-amz-part-size': String(MiB) } });
    ids.push(String(r.headers['x-amz-multipart-upload-id']));
  }
  let r = await s.request({ method: 'GET', path: '/-/vaults/lmu/multipart-uploads', query: { limit: '2' } });
  let j = r.json();
  assert.deepEqual(Object.keys(j), ['Marker', 'UploadsList']);
  assert.deepEqual(j.UploadsList.map((u: { MultipartUploadId: string }) => u.MultipartUploadId), ids.slice(0, 2));
  assert.deepEqual(Object.keys(j.UploadsList[0]), ['ArchiveDescription', 'CreationDate', 'MultipartUploadId', 'PartSizeInBytes', 'VaultARN']);
  assert.equal(j.UploadsList[0].ArchiveDescription, null);
  assert.equal(j.Marker, ids[2]);
  r = await s.request({ method: 'GET', path: '/-/vaults/lmu/multipart-uploads', query: { limit: '2', marker: j.Marker } });
  j = r.json();
  assert.deepEqual(j.UploadsList.map((u: { MultipartUploadId: string }) => u.MultipartUploadId), ids.slice(2));
  assert.equal(j.Marker, null);
  for (const bad of ['0', '51', 'x']) {
    r = await s.request({ method: 'GET', path: '/-/vaults/lmu/multipart-uploads', query: { limit: bad } });
    assert.equal(r.status, 400, bad);
  }
  assert.equal((await s.request({ method: 'GET', path: '/-/vaults/nope/multipart-uploads' })).status, 404);
});

test('uploads idle for 24 h (injected clock) expire and their space is reclaimed; active ones stay', async () => {
  await s.request({ method: 'PUT', path: '/-/vaults/exp' });
  const mk = async () => {
    const r = await s.request({ method: 'POST', path: '/-/vaults/exp/multipart-uploads', headers: { 'x-amz-part-size': String(MiB) } });
    return String(r.headers['x-amz-multipart-upload-id']);
  };
  const idle = await mk();
  const busy = await mk();
  await uploadPart(s, 'exp', idle, 0, randomBytes(1000));
  await uploadPart(s, 'exp', busy, 0, randomBytes(1000));
  const files = blobFiles(s).data.length;
  s.clock.advance(23 * 3600_000);
  await uploadPart(s, 'exp', busy, MiB, randomBytes(1000));
  assert.equal(await s.running.app.blobMaintenance.sweep(), 0);
  s.clock.advance(2 * 3600_000);
  // Gone for clients at once, before any sweep.
  assert.equal((await s.request({ method: 'GET', path: `/-/vaults/exp/multipart-uploads/${idle}` })).status, 404);
  // Uploads left idle by the earlier tests expire too.
  assert.ok((await s.running.app.blobMaintenance.sweep()) >= 1);
  assert.equal((await s.running.app.store.uploads.get(idle))!.state, 'expired');
  assert.equal((await s.running.app.store.uploads.get(busy))!.state, 'active');
  assert.equal(blobFiles(s).data.length, files);
  const ups = (await s.request({ method: 'GET', path: '/-/vaults/exp/multipart-uploads' })).json();
  assert.deepEqual(ups.UploadsList.map((u: { MultipartUploadId: string }) => u.MultipartUploadId), [busy]);
  assert.equal((await s.request({ method: 'GET', path: `/-/vaults/exp/multipart-uploads/${busy}` })).json().Parts.length, 2);
});
