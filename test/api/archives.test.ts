import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { signedUploadHeaders, startTestServer, TEST_ACCOUNT, type TestServer } from '../helpers/server.js';
import { blobFiles, sha256Hex, uploadArchive } from '../helpers/uploads.js';
import { treeHash, MiB } from '../../src/domain/treehash.js';
import { onPostgres } from '../helpers/metadata.js';

let s: TestServer;
const ARN = (v: string) => `arn:aws:glacier:us-east-1:${TEST_ACCOUNT}:vaults/${v}`;

before(async () => {
  s = await startTestServer();
  for (const v of ['a1', 'a2', 'bad', 'del', 'pin', 'held']) assert.equal((await s.request({ method: 'PUT', path: `/-/vaults/${v}` })).status, 201);
});
after(async () => {
  await s.close();
});

async function describe(v: string) {
  return (await s.request({ method: 'GET', path: `/-/vaults/${v}` })).json();
}

test('UploadArchive: 201 with Location, a 138-character archive id and the tree hash; no body', async () => {
  const data = randomBytes(3 * MiB + 17);
  const r = await uploadArchive(s, 'a1', data, { description: 'my  backup: 2026/11 (#1)' });
  assert.equal(r.status, 201, r.body.toString());
  const id = String(r.headers['x-amz-archive-id']);
  assert.match(id, /^[A-Za-z0-9_-]{138}$/);
  assert.equal(r.headers.location, `/${TEST_ACCOUNT}/vaults/a1/archives/${id}`);
  assert.equal(r.headers['x-amz-sha256-tree-hash'], treeHash(data));
  assert.equal(r.body.length, 0);
  const rec = await s.running.app.store.archives.get((await s.running.app.store.vaults.get({ accountId: TEST_ACCOUNT, region: 'us-east-1', name: 'a1' }))!.id, id);
  assert.equal(rec?.description, 'my  backup: 2026/11 (#1)');
  assert.equal(rec?.size, data.length);
  const leaves = await s.running.app.store.archives.getLeaves(id);
  assert.equal(leaves?.length, 4 * 32);
});

test('two uploads of the same bytes get different archive ids', async () => {
  const data = Buffer.from('identical');
  const a = await uploadArchive(s, 'a1', data);
  const b = await uploadArchive(s, 'a1', data);
  assert.equal(a.status, 201);
  assert.equal(b.status, 201);
  assert.notEqual(a.headers['x-amz-archive-id'], b.headers['x-amz-archive-id']);
});

test('tree hashes at the sizes around 1 MiB boundaries match the DG checksum-calculations vectors', async () => {
  const cases: [number, string][] = [
    [MiB, '30e14955ebf1352266dc2ff8067e68104607e750abb9d3b36582b8af909fcb58'],
    [MiB + 1, '28638dab8d5e1754a4ecb38b0ebe6df66c844f94aed142d4d0283d208bb786cd'],
    [2 * MiB, '861890b487038d840e9d71d43bbc0fd4571453fb9d9b1f370caa3582a29b0ec7'],
    [3 * MiB, 'ca6cc129a4514ec765de86a4e7a49adf44842c9cac213c383ebe4071271bdf21'],
    [5.5 * MiB, 'a3a82dbe3644dd6046be472f2e3ec1f8ef47f8f3adb86d0de4de7a254f255455'],
  ];
  for (const [size, expected] of cases) {
    const r = await uploadArchive(s, 'a2', Buffer.alloc(size), { treeHash: expected });
    assert.equal(r.status, 201, `${size}: ${r.body}`);
    assert.equal(r.headers['x-amz-sha256-tree-hash'], expected);
  }
  for (const size of [1, MiB - 1]) {
    const d = Buffer.alloc(size, 1);
    const r = await uploadArchive(s, 'a2', d, { treeHash: sha256Hex(d) });
    assert.equal(r.status, 201, `${size}: ${r.body}`);
  }
  const v = await describe('a2');
  assert.equal(v.NumberOfArchives, 7);
});

test('a wrong tree hash → 400 naming both hashes, and nothing is stored', async () => {
  const before = await describe('bad');
  const files = blobFiles(s).data.length;
  const data = randomBytes(2 * MiB + 5);
  const wrong = treeHash(Buffer.from('something else'));
  const r = await uploadArchive(s, 'bad', data, { treeHash: wrong });
  assert.equal(r.status, 400);
  const j = r.json();
  assert.equal(j.code, 'InvalidParameterValueException');
  assert.equal(j.type, 'Client');
  assert.ok(j.message.includes(wrong) && j.message.includes(treeHash(data)), j.message);
  assert.deepEqual(await describe('bad'), before);
  assert.equal(blobFiles(s).data.length, files);
  assert.deepEqual(blobFiles(s).tmp, []);
});

test('a body that does not match the signed x-amz-content-sha256 → 403 InvalidSignatureException, nothing stored', async () => {
  const before = await describe('bad');
  const files = blobFiles(s).data.length;
  const data = randomBytes(100_000);
  const r = await uploadArchive(s, 'bad', data, { contentSha256: sha256Hex(Buffer.from('other')) });
  assert.equal(r.status, 403);
  assert.equal(r.json().code, 'InvalidSignatureException');
  assert.deepEqual(await describe('bad'), before);
  assert.equal(blobFiles(s).data.length, files);
  assert.deepEqual(blobFiles(s).tmp, []);
});

test('missing or malformed headers and empty bodies are 4xx before anything is stored', async () => {
  const data = Buffer.from('abc');
  let r = await s.request({ method: 'POST', path: '/-/vaults/bad/archives', body: data, headers: { 'x-amz-content-sha256': sha256Hex(data) } });
  assert.equal(r.status, 400);
  assert.equal(r.json().code, 'MissingParameterValueException');
  assert.match(r.json().message, /x-amz-sha256-tree-hash/);

  r = await uploadArchive(s, 'bad', data, { treeHash: 'xyz' });
  assert.equal(r.status, 400);
  assert.equal(r.json().code, 'InvalidParameterValueException');

  r = await uploadArchive(s, 'bad', Buffer.alloc(0));
  assert.equal(r.status, 400);
  assert.equal(r.json().code, 'InvalidParameterValueException');

  r = await uploadArchive(s, 'bad', data, { description: 'x'.repeat(1025) });
  assert.equal(r.status, 400);
  r = await uploadArchive(s, 'bad', data, { description: 'tab\there' });
  assert.equal(r.status, 400);

  r = await uploadArchive(s, 'no-such-vault', data);
  assert.equal(r.status, 404);
  assert.equal(r.json().message, `Vault not found for ARN: ${ARN('no-such-vault')}`);

  assert.equal((await describe('bad')).NumberOfArchives, 0);
  assert.deepEqual(blobFiles(s).tmp, []);
});

test('a chunked body without Content-Length → 400 MissingParameterValueException', async () => {
  // Signed with the claimed hash; the transfer itself is chunked.
  const data = Buffer.from('chunked body');
  const { SignatureV4 } = await import('@smithy/signature-v4');
  const { HttpRequest } = await import('@smithy/protocol-http');
  const { Sha256 } = await import('@aws-crypto/sha256-js');
  const u = new URL(s.url);
  const signer = new SignatureV4({ credentials: s.creds, region: 'us-east-1', service: 'glacier', sha256: Sha256, uriEscapePath: true, applyChecksum: false });
  const headers = {
    host: u.host,
    'x-amz-glacier-version': '2012-06-01',
    'x-amz-content-sha256': sha256Hex(data),
    'x-amz-sha256-tree-hash': treeHash(data),
    'transfer-encoding': 'chunked',
  };
  const signed = await signer.sign(new HttpRequest({ method: 'POST', protocol: 'http:', hostname: u.hostname, port: Number(u.port), path: '/-/vaults/bad/archives', headers }));
  const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, method: 'POST', path: '/-/vaults/bad/archives', headers: signed.headers }, (res) => {
      let b = '';
      res.on('data', (c) => (b += c));
      res.on('end', () => resolve({ status: res.statusCode!, body: b }));
    });
    req.on('error', reject);
    req.write(data);
    req.end();
  });
  assert.equal(res.status, 400);
  assert.equal(JSON.parse(res.body).code, 'MissingParameterValueException');
});

test('a client that disconnects mid-upload leaves no archive and no temp file', async () => {
  const before = await describe('bad');
  const data = randomBytes(4 * MiB);
  const u = new URL(s.url);
  const signed = { headers: await signedUploadHeaders(s.url, s.creds, '/-/vaults/bad/archives', data, treeHash(data)) };
  await new Promise<void>((resolve) => {
    const req = httpRequest({ host: u.hostname, port: u.port, method: 'POST', path: '/-/vaults/bad/archives', headers: signed.headers });
    req.on('error', () => resolve());
    req.write(data.subarray(0, 2 * MiB), () => setTimeout(() => {
      req.destroy();
      resolve();
    }, 100));
  });
  for (let i = 0; i < 50 && blobFiles(s).tmp.length > 0; i++) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(blobFiles(s).tmp, []);
  assert.deepEqual(await describe('bad'), before);
});

test('DeleteArchive: 204, counters drop, the bytes are reclaimed; a repeat is 204 again', async () => {
  const data = randomBytes(1000);
  const r = await uploadArchive(s, 'del', data);
  const id = String(r.headers['x-amz-archive-id']);
  const blobKey = (await s.running.app.store.archives.getLeaves(id)) && (await s.running.app.store.archives.list((await s.running.app.store.vaults.get({ accountId: TEST_ACCOUNT, region: 'us-east-1', name: 'del' }))!.id, { limit: 10 }))[0]!.blobKey;
  assert.ok(blobFiles(s).data.includes(blobKey!));
  let v = await describe('del');
  assert.equal(v.NumberOfArchives, 1);
  let d = await s.request({ method: 'DELETE', path: `/-/vaults/del/archives/${id}` });
  assert.equal(d.status, 204);
  v = await describe('del');
  assert.equal(v.NumberOfArchives, 0);
  assert.equal(v.SizeInBytes, 0);
  await s.running.app.blobMaintenance.collect();
  assert.ok(!blobFiles(s).data.includes(blobKey!));
  d = await s.request({ method: 'DELETE', path: `/-/vaults/del/archives/${id}` });
  assert.equal(d.status, 204);
  assert.equal((await describe('del')).NumberOfArchives, 0);
});

test('DeleteArchive with an archive id of another vault → 400 Invalid vault name: <ARN>', async () => {
  const r = await uploadArchive(s, 'a1', Buffer.from('belongs to a1'));
  const id = String(r.headers['x-amz-archive-id']);
  const d = await s.request({ method: 'DELETE', path: `/-/vaults/del/archives/${id}` });
  assert.equal(d.status, 400);
  assert.deepEqual(d.json(), { code: 'InvalidParameterValueException', message: `Invalid vault name: ${ARN('del')}`, type: 'Client' });
});

test('DeleteArchive: a malformed id → 400, a well-formed id this vault never had → 404', async () => {
  let d = await s.request({ method: 'DELETE', path: '/-/vaults/del/archives/not-an-archive-id' });
  assert.equal(d.status, 400);
  assert.equal(d.json().code, 'InvalidParameterValueException');
  const r = await uploadArchive(s, 'del', Buffer.from('x'));
  const id = String(r.headers['x-amz-archive-id']);
  const forged = id.slice(0, 20) + (id[20] === 'A' ? 'B' : 'A') + id.slice(21);
  d = await s.request({ method: 'DELETE', path: `/-/vaults/del/archives/${forged}` });
  assert.equal(d.status, 404);
  assert.equal(d.json().code, 'ResourceNotFoundException');
});

test('a blob retained by a job output survives the deletion of its archive and goes with the last release', async () => {
  const store = s.running.app.store;
  const data = randomBytes(5000);
  const r = await uploadArchive(s, 'pin', data);
  const id = String(r.headers['x-amz-archive-id']);
  const vaultId = (await store.vaults.get({ accountId: TEST_ACCOUNT, region: 'us-east-1', name: 'pin' }))!.id;
  const rec = (await store.archives.get(vaultId, id))!;
  await store.blobs.retain(rec.blobKey);
  assert.equal((await s.request({ method: 'DELETE', path: `/-/vaults/pin/archives/${id}` })).status, 204);
  await s.running.app.blobMaintenance.collect();
  const chunks: Buffer[] = [];
  for await (const c of s.running.app.blobs.read(rec.blobKey, 0, data.length)) chunks.push(c as Buffer);
  assert.ok(Buffer.concat(chunks).equals(data));
  await store.blobs.release(rec.blobKey);
  await s.running.app.blobMaintenance.collect();
  assert.ok(!blobFiles(s).data.includes(rec.blobKey));
  await assert.rejects(() => store.blobs.retain(rec.blobKey));
});

test('archives list in (createdAt, archiveId) order with date filters and a cursor', async () => {
  const store = s.running.app.store;
  await s.request({ method: 'PUT', path: '/-/vaults/listing' });
  const vaultId = (await store.vaults.get({ accountId: TEST_ACCOUNT, region: 'us-east-1', name: 'listing' }))!.id;
  const ids: string[] = [];
  const t0 = s.clock.now();
  for (let i = 0; i < 5; i++) {
    ids.push(String((await uploadArchive(s, 'listing', Buffer.from(`n${i}`))).headers['x-amz-archive-id']));
    s.clock.advance(1000);
  }
  const all = await store.archives.list(vaultId, { limit: 100 });
  assert.deepEqual(all.map((a) => a.archiveId), ids);
  const page = await store.archives.list(vaultId, { limit: 2, after: { createdAt: all[1]!.createdAt, archiveId: all[1]!.archiveId } });
  assert.deepEqual(page.map((a) => a.archiveId), ids.slice(2, 4));
  const windowed = await store.archives.list(vaultId, { limit: 100, startDate: all[1]!.createdAt, endDate: all[3]!.createdAt });
  assert.deepEqual(windowed.map((a) => a.archiveId), ids.slice(1, 3));
  assert.ok(all[0]!.createdAt >= t0);
});

test('a body that stalls → 408 RequestTimeoutException, and nothing is stored', async () => {
  const t = await startTestServer({ config: { uploadBodyTimeout: 300 } });
  try {
    await t.request({ method: 'PUT', path: '/-/vaults/slow' });
    const data = randomBytes(2 * MiB);
    const u = new URL(t.url);
    const signed = { headers: await signedUploadHeaders(t.url, t.creds, '/-/vaults/slow/archives', data, treeHash(data)) };
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest({ host: u.hostname, port: u.port, method: 'POST', path: '/-/vaults/slow/archives', headers: signed.headers }, (res) => {
        let b = '';
        res.on('data', (c) => (b += c));
        res.on('end', () => resolve({ status: res.statusCode!, body: b }));
      });
      req.on('error', reject);
      // Half the body, then silence.
      req.write(data.subarray(0, MiB));
    });
    assert.equal(res.status, 408);
    assert.equal(JSON.parse(res.body).code, 'RequestTimeoutException');
    assert.deepEqual(blobFiles(t).tmp, []);
    assert.equal((await t.request({ method: 'GET', path: '/-/vaults/slow' })).json().NumberOfArchives, 0);
  } finally {
    await t.close();
  }
});

test('UploadArchive publishes its blob and answers only once the pending record is durable (store.blobs.beginDeferred), for a one-leaf body and a streamed one', async () => {
  const blobs = s.running.app.store.blobs;
  const original = blobs.beginDeferred;
  try {
    for (const size of [1000, 3 * MiB + 1]) {
      let open!: () => void;
      const gate = new Promise<void>((r) => (open = r));
      let heldKey: string | null = null;
      let entered!: () => void;
      const enteredP = new Promise<void>((r) => (entered = r));
      // The first call (the held upload's: the other one starts only after it) is held.
      blobs.beginDeferred = async (key, owner, until) => {
        if (heldKey !== null) return original.call(blobs, key, owner, until);
        heldKey = key;
        const r = await original.call(blobs, key, owner, until);
        entered();
        return { durable: r.durable.then(() => gate) };
      };
      const data = randomBytes(size);
      let answered = false;
      const held = uploadArchive(s, 'held', data).finally(() => (answered = true));
      await enteredP;
      // An upload that is not held goes through every step meanwhile.
      assert.equal((await uploadArchive(s, 'held', randomBytes(size))).status, 201);
      assert.ok(heldKey !== null);
      assert.equal(answered, false, `${size} B: answered before its record was durable`);
      assert.ok(!blobFiles(s).data.includes(heldKey), `${size} B: published before its record was durable`);
      open();
      const r = await held;
      assert.equal(r.status, 201, r.body.toString());
      assert.ok(blobFiles(s).data.includes(heldKey));
      blobs.beginDeferred = original;
    }
  } finally {
    blobs.beginDeferred = original;
  }
});

// Embedded only: a shared store's start-up (PostgreSQL, not exclusiveStorage) must leave pending
// blobs under a lease that has not lapsed to their owner, which may be another live server; they
// are reaped once the lease lapses (test/api/leases.test.ts).
const exclusiveOnly = onPostgres() && 'on PostgreSQL start-up is not exclusive: it reaps no pending blob whose lease has not lapsed';
test('after a crash, exclusive start-up reclaims every pending blob (committed bytes and temp files) whose metadata never committed, and keeps the rest', { skip: exclusiveOnly }, async () => {
  const t = await startTestServer();
  const dataDir = t.dataDir;
  let restarted: TestServer | null = null;
  try {
    await t.request({ method: 'PUT', path: '/-/vaults/crash' });
    const kept = randomBytes(3000);
    const id = String((await uploadArchive(t, 'crash', kept)).headers['x-amz-archive-id']);
    // A blob renamed into place whose metadata transaction never ran, and a write cut short: both
    // recorded pending (as every write is) under a lease that has not lapsed when the process dies.
    const app = t.running.app;
    const pending = async () => {
      const key = app.blobs.newKey('blob');
      await app.store.blobs.begin(key, app.leases.owner, app.leases.until());
      return app.blobs.create(key);
    };
    const w = await pending();
    await w.write(randomBytes(5000));
    const orphan = await w.commit();
    const half = await pending();
    await half.write(randomBytes(5000));
    assert.ok(blobFiles(t).data.includes(orphan), 'the orphan blob is in place before the crash');
    assert.equal(blobFiles(t).tmp.length, 1);
    await t.stop();
    restarted = await startTestServer({ dataDir });
    const files = blobFiles(restarted);
    assert.ok(!files.data.includes(orphan), 'start-up reaped the orphan blob');
    assert.deepEqual(files.tmp, []);
    const store = restarted.running.app.store;
    assert.equal(await store.blobs.known(orphan), false, 'reaped and collected: the metadata forgot it too');
    const v = (await store.vaults.get({ accountId: TEST_ACCOUNT, region: 'us-east-1', name: 'crash' }))!;
    const a = (await store.archives.get(v.id, id))!;
    const chunks: Buffer[] = [];
    for await (const c of restarted.running.app.blobs.read(a.blobKey, 0, a.size)) chunks.push(c as Buffer);
    assert.ok(Buffer.concat(chunks).equals(kept), 'the committed archive is kept');
    await half.abort();
  } finally {
    if (restarted) await restarted.close();
    else await t.close();
  }
});
