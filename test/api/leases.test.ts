import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { startTestServer, stallPastLease as stallPastLeaseOf, type TestServer } from '../helpers/server.js';
import { RawGlacier, seededBytes } from '../helpers/glacier-raw.js';
import { createLogger } from '../../src/lib/logger.js';
import { treeHash } from '../../src/domain/treehash.js';
import { storeRow } from '../helpers/store-sql.js';

/**
 * A write that outlives its blob lease (this process stalled for longer than FIRN_LEASE, and the
 * sweep reclaimed the unfinished blob) stores nothing and is answered with a retryable 503
 * ServiceUnavailableException (type Server), logged at warn; the retry succeeds.
 */
const logLines: any[] = [];
let s: TestServer;
before(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) logLines.push(JSON.parse(l));
      cb();
    },
  });
  s = await startTestServer({ ownServer: true, log: createLogger('warn', sink) });
});
after(async () => {
  await s.close();
});

/** This process stalls past its lease: the heartbeat stops, domain time passes the lease, a sweep reaps. */
const stallPastLease = () => stallPastLeaseOf(s);

function assertLeaseLost(r: { status: number; json(): any }): void {
  assert.equal(r.status, 503);
  assert.deepEqual(r.json(), {
    code: 'ServiceUnavailableException',
    message: 'The server could not finish storing the data in time and stored nothing; please retry the request.',
    type: 'Server',
  });
}

const pendingCount = async () => (await storeRow<{ n: number }>(s, 'SELECT COUNT(*) AS n FROM pending_blobs'))!.n;

/** Replaces `obj[name]` for one call, which first runs `before`. */
function onceBefore<T extends object, K extends keyof T>(obj: T, name: K, before: () => Promise<void>): void {
  const original = obj[name] as (...a: unknown[]) => Promise<unknown>;
  (obj as Record<K, unknown>)[name] = async function (this: unknown, ...args: unknown[]) {
    (obj as Record<K, unknown>)[name] = original;
    await before();
    return original.apply(obj, args);
  };
}

test('UploadArchive whose lease lapsed before the metadata commit → 503, nothing stored, the retry succeeds', async () => {
  const g = new RawGlacier(s.url, 'lease-commit');
  await g.createVault();
  const bytes = seededBytes('lease-commit', 3000);
  const warnsBefore = logLines.filter((l) => l.level === 40).length;
  onceBefore(s.running.app.store.archives, 'create', stallPastLease);
  assertLeaseLost(await g.uploadArchive(bytes, 'x'));
  const warns = logLines.filter((l) => l.level === 40).slice(warnsBefore);
  assert.ok(warns.some((l) => /lost its blob lease/.test(l.msg) && typeof l.blobKey === 'string'), JSON.stringify(warns));
  assert.equal((await g.req('GET', '')).json().NumberOfArchives, 0);
  await s.running.app.blobMaintenance.collect();
  assert.deepEqual(await s.running.app.store.blobs.garbage(10), []);
  assert.equal(await pendingCount(), 0);
  assert.equal((await g.uploadArchive(bytes, 'x')).status, 201);
});

test('UploadArchive whose unfinished bytes were reclaimed while it wrote (the commit finds no temp file) → 503', async () => {
  const g = new RawGlacier(s.url, 'lease-write');
  await g.createVault();
  const blobs = s.running.app.blobs;
  const create = blobs.create.bind(blobs);
  let key: string | null = null;
  blobs.create = async (k: string) => {
    blobs.create = create;
    key = k;
    const w = await create(k);
    await stallPastLease();
    return w;
  };
  // Larger than one leaf: streamed through a writer (a body of one leaf goes through put, below).
  assertLeaseLost(await g.uploadArchive(seededBytes('lease-write', 1024 * 1024 + 5000), 'y'));
  assert.equal(await blobs.size(key!), null);
  assert.equal((await g.req('GET', '')).json().NumberOfArchives, 0);
  assert.equal(await pendingCount(), 0);
});

test('UploadArchive of one leaf whose pending blob was reclaimed before it was stored (BlobStore.put) → 503, and the stored bytes are collected', async () => {
  const g = new RawGlacier(s.url, 'lease-put');
  await g.createVault();
  const blobs = s.running.app.blobs;
  const put = blobs.put.bind(blobs);
  let key: string | null = null;
  blobs.put = async (k, bytes, opts) => {
    blobs.put = put;
    key = k;
    await stallPastLease();
    return put(k, bytes, opts);
  };
  assertLeaseLost(await g.uploadArchive(seededBytes('lease-put', 5000), 'z'));
  assert.equal((await g.req('GET', '')).json().NumberOfArchives, 0);
  assert.equal(await pendingCount(), 0);
  await s.running.app.blobMaintenance.collect();
  assert.equal(await blobs.size(key!), null);
  assert.deepEqual(await s.running.app.store.blobs.garbage(10), []);
});

test('UploadMultipartPart and CompleteMultipartUpload whose lease lapsed → 503, the upload stays intact and retryable', async () => {
  const g = new RawGlacier(s.url, 'lease-mpu');
  await g.createVault();
  const MiB = 1024 * 1024;
  const id = String((await g.initiateMultipart(MiB, 'mpu')).headers['x-amz-multipart-upload-id']);
  const part = seededBytes('lease-mpu', MiB);
  onceBefore(s.running.app.store.uploads, 'putPart', stallPastLease);
  assertLeaseLost(await g.uploadPart(id, 0, part));
  const listed = await g.listAllParts(id);
  assert.ok('parts' in listed);
  assert.deepEqual(listed.parts, []);
  assert.equal((await g.uploadPart(id, 0, part)).status, 204);
  onceBefore(s.running.app.store.uploads, 'complete', stallPastLease);
  assertLeaseLost(await g.completeMultipart(id, MiB, treeHash(part)));
  const done = await g.completeMultipart(id, MiB, treeHash(part));
  assert.equal(done.status, 201, done.body.toString());
  const archiveId = String(done.headers['x-amz-archive-id']);
  assert.ok((await s.storedArchive('lease-mpu', archiveId)).equals(part));
  assert.equal(await pendingCount(), 0);
});
