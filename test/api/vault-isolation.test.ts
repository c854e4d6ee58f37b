import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { randomBytes } from 'node:crypto';
import { signedUploadHeaders, startTestServer, type Creds, type TestServer } from '../helpers/server.js';
import { blobFiles, sha256Hex } from '../helpers/uploads.js';
import { createAccount } from '../../src/auth/admin.js';
import { treeHash } from '../../src/domain/treehash.js';

/**
 * Nothing of a deleted vault reappears in a vault created later, in the same account or another
 * (its id is never given again, and DeleteVault removes what was under it), and the invariants
 * DeleteVault and InitiateJob rely on hold under concurrent requests.
 */
let s: TestServer;
before(async () => {
  s = await startTestServer();
});
after(async () => {
  await s.close();
});

const MiB = 1024 * 1024;
const json = (body: unknown) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** The reproduction: jobs (done and pending), an output and a multipart upload under a vault that is then deleted. */
async function vaultWithLeftovers(creds: Creds, vault: string) {
  const req = (r: Parameters<TestServer['request']>[0]) => s.request({ creds, ...r });
  assert.equal((await req({ method: 'PUT', path: `/-/vaults/${vault}` })).status, 201);
  const bytes = Buffer.from('old bytes');
  const up = await req({ method: 'POST', path: `/-/vaults/${vault}/archives`, body: bytes, headers: { 'x-amz-sha256-tree-hash': treeHash(bytes), 'x-amz-content-sha256': sha256Hex(bytes) } });
  assert.equal(up.status, 201, up.body.toString());
  const archiveId = up.headers['x-amz-archive-id'] as string;
  const jobIds: string[] = [];
  for (const body of [{ Type: 'archive-retrieval', ArchiveId: archiveId }, { Type: 'inventory-retrieval' }]) {
    const r = await req({ method: 'POST', path: `/-/vaults/${vault}/jobs`, ...json(body) });
    assert.equal(r.status, 202, r.body.toString());
    jobIds.push(r.headers['x-amz-job-id'] as string);
  }
  await s.running.app.jobs.runDue();
  for (const id of jobIds) assert.equal((await req({ method: 'GET', path: `/-/vaults/${vault}/jobs/${id}/output` })).status, 200);
  const outputKeys: string[] = [];
  for (const id of jobIds) {
    const key = (await s.running.app.store.jobs.getByJobId(id))?.outputKey;
    if (key) outputKeys.push(key);
  }
  const mp = await req({ method: 'POST', path: `/-/vaults/${vault}/multipart-uploads`, headers: { 'x-amz-part-size': String(MiB) } });
  assert.equal(mp.status, 201);
  assert.equal((await req({ method: 'DELETE', path: `/-/vaults/${vault}/archives/${archiveId}` })).status, 204);
  assert.equal((await req({ method: 'DELETE', path: `/-/vaults/${vault}` })).status, 204);
  return { jobIds, outputKeys, uploadId: mp.headers['x-amz-multipart-upload-id'] as string };
}

async function assertNothingLeaks(creds: Creds, vault: string, old: { jobIds: string[]; outputKeys: string[]; uploadId: string }) {
  const req = (r: Parameters<TestServer['request']>[0]) => s.request({ creds, ...r });
  assert.equal((await req({ method: 'PUT', path: `/-/vaults/${vault}` })).status, 201);
  assert.deepEqual((await req({ method: 'GET', path: `/-/vaults/${vault}/jobs` })).json().JobList, []);
  assert.deepEqual((await req({ method: 'GET', path: `/-/vaults/${vault}/multipart-uploads` })).json().UploadsList, []);
  for (const id of old.jobIds) {
    assert.equal((await req({ method: 'GET', path: `/-/vaults/${vault}/jobs/${id}` })).status, 404);
    assert.equal((await req({ method: 'GET', path: `/-/vaults/${vault}/jobs/${id}/output` })).status, 404);
  }
  assert.equal((await req({ method: 'GET', path: `/-/vaults/${vault}/multipart-uploads/${old.uploadId}` })).status, 404);
}

test("a deleted vault's jobs, outputs and uploads do not reappear in the account's next vault", async () => {
  const old = await vaultWithLeftovers(s.creds, 'iso-v1');
  await assertNothingLeaks(s.creds, 'iso-v2', old);
  // The inventory output blob went with its job: released with the vault, then collected.
  await s.running.app.blobMaintenance.collect();
  for (const key of old.outputKeys) assert.equal(await s.running.app.blobs.size(key), null, `output blob ${key} collected`);
  assert.ok(old.outputKeys.length > 0);
});

test("… nor in another account's vault", async () => {
  const other = await createAccount(s.running.app.store, undefined, s.clock.now());
  const old = await vaultWithLeftovers(s.creds, 'iso-x1');
  await assertNothingLeaks({ accessKeyId: other.accessKeyId, secretAccessKey: other.secretAccessKey }, 'iso-x2', old);
});

test('parallel InitiateJobs never admit more than BytesPerHour allows', async () => {
  // A region of its own: the ledger and the policy are per account and region.
  const region = 'eu-west-1';
  await s.request({ method: 'PUT', path: '/-/vaults/bph', region });
  const data = randomBytes(1000);
  const up = await s.request({ method: 'POST', path: '/-/vaults/bph/archives', region, body: data, headers: { 'x-amz-sha256-tree-hash': treeHash(data), 'x-amz-content-sha256': sha256Hex(data) } });
  const archiveId = up.headers['x-amz-archive-id'] as string;
  // Spread over 4 hours: 3 retrievals of 1000 bytes fit under 750 bytes per hour, a fourth does not.
  const policy = await s.request({ method: 'PUT', path: '/-/policies/data-retrieval', region, ...json({ Policy: { Rules: [{ Strategy: 'BytesPerHour', BytesPerHour: 750 }] } }) });
  assert.equal(policy.status, 204);
  const rs = await Promise.all(
    Array.from({ length: 12 }, () => s.request({ method: 'POST', path: '/-/vaults/bph/jobs', region, ...json({ Type: 'archive-retrieval', ArchiveId: archiveId, Tier: 'Standard' }) })),
  );
  assert.equal(rs.filter((r) => r.status === 202).length, 3);
  assert.deepEqual([...new Set(rs.filter((r) => r.status !== 202).map((r) => `${r.status} ${r.json().code}`))], ['400 PolicyEnforcedException']);
  assert.equal((await s.request({ method: 'GET', path: '/-/vaults/bph/jobs', region })).json().JobList.length, 3);
});

test('DeleteVault racing InitiateJobs leaves no job behind the deleted vault', async () => {
  await s.request({ method: 'PUT', path: '/-/vaults/race-jobs' });
  const vaultId = (await s.running.app.store.vaults.get({ accountId: s.accountId, region: 'us-east-1', name: 'race-jobs' }))!.id;
  const jobs = Array.from({ length: 20 }, () => s.request({ method: 'POST', path: '/-/vaults/race-jobs/jobs', ...json({ Type: 'inventory-retrieval' }) }));
  const del = s.request({ method: 'DELETE', path: '/-/vaults/race-jobs' });
  const rs = await Promise.all(jobs);
  assert.equal((await del).status, 204);
  for (const r of rs) assert.ok(r.status === 202 || r.status === 404, `${r.status} ${r.body.toString()}`);
  const left = await s.running.app.store.jobs.list(vaultId, { afterJobId: null, status: null, completed: null, limit: 100, now: s.clock.now() });
  assert.deepEqual(left.jobs, []);
});

test('DeleteVault while a multipart part streams in: the part is refused and its bytes become garbage', async () => {
  await s.request({ method: 'PUT', path: '/-/vaults/race-part' });
  // Two leaves: the part streams into a temp file (a part of one leaf is stored whole at its end).
  const PART = 2 * MiB;
  const mp = await s.request({ method: 'POST', path: '/-/vaults/race-part/multipart-uploads', headers: { 'x-amz-part-size': String(PART) } });
  const uploadId = mp.headers['x-amz-multipart-upload-id'] as string;
  const path = `/-/vaults/race-part/multipart-uploads/${uploadId}`;
  const data = randomBytes(PART);
  const headers = await signedUploadHeaders(s.url, s.creds, path, data, treeHash(data), { method: 'PUT', extra: { 'content-range': `bytes 0-${PART - 1}/*` } });
  const u = new URL(s.url);
  // Garbage earlier tests on this server left is collected first, so that only this part can differ.
  await s.running.app.blobMaintenance.collect();
  const before = new Set(blobFiles(s).data);
  let sendRest!: () => void;
  const res = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, method: 'PUT', path, headers }, (r) => {
      let b = '';
      r.on('data', (c) => (b += c));
      r.on('end', () => resolve({ status: r.statusCode!, body: b }));
    });
    req.on('error', reject);
    req.write(data.subarray(0, PART / 2));
    sendRest = () => req.end(data.subarray(PART / 2));
  });
  // The handler has looked the vault and the upload up once the part's temp file exists.
  while (blobFiles(s).tmp.length === 0) await new Promise((r) => setImmediate(r));
  assert.equal((await s.request({ method: 'DELETE', path: '/-/vaults/race-part' })).status, 204);
  sendRest();
  const r = await res;
  assert.equal(r.status, 404, r.body);
  assert.equal(JSON.parse(r.body).code, 'ResourceNotFoundException');
  await s.running.app.blobMaintenance.collect();
  assert.deepEqual(blobFiles(s).data.filter((k) => !before.has(k)), [], 'the refused part left no blob behind');
});
