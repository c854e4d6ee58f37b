import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CompleteMultipartUploadCommand,
  DeleteArchiveCommand,
  DescribeVaultCommand,
  InitiateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  UploadArchiveCommand,
  UploadMultipartPartCommand,
  CreateVaultCommand,
} from '@aws-sdk/client-glacier';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { awsCli, BOTO3_PRELUDE, python } from '../helpers/clients.js';
import { treeHash, MiB } from '../../src/domain/treehash.js';

let s: TestServer;
let dir: string;
before(async () => {
  s = await startTestServer();
  dir = mkdtempSync(join(tmpdir(), 'firn-e2e-arch-'));
  for (const v of ['sdk', 'cli', 'boto']) assert.equal((await s.request({ method: 'PUT', path: `/-/vaults/${v}` })).status, 201);
});
after(async () => {
  await s.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The stored bytes of an archive, read back through the BlobStore. */
const stored = (vault: string, archiveId: string) => s.storedArchive(vault, archiveId);

test('@aws-sdk/client-glacier: UploadArchive and a multipart upload (SDK-computed part hashes)', async () => {
  const g = s.glacier();
  await g.send(new CreateVaultCommand({ accountId: '-', vaultName: 'sdk' }));
  const single = randomBytes(1.5 * MiB);
  const up = await g.send(new UploadArchiveCommand({ accountId: '-', vaultName: 'sdk', body: single, archiveDescription: 'sdk single' }));
  assert.equal(up.checksum, treeHash(single));
  assert.match(up.archiveId!, /^[A-Za-z0-9_-]{138}$/);
  assert.equal(up.location, `/${s.accountId}/vaults/sdk/archives/${up.archiveId}`);
  assert.ok((await stored('sdk', up.archiveId!)).equals(single));

  const data = randomBytes(2 * MiB + 333);
  const init = await g.send(new InitiateMultipartUploadCommand({ accountId: '-', vaultName: 'sdk', partSize: String(MiB), archiveDescription: 'sdk multi' }));
  const uploadId = init.uploadId!;
  for (let off = 0; off < data.length; off += MiB) {
    const part = data.subarray(off, off + MiB);
    const r = await g.send(new UploadMultipartPartCommand({ accountId: '-', vaultName: 'sdk', uploadId, range: `bytes ${off}-${off + part.length - 1}/*`, body: part }));
    assert.equal(r.checksum, treeHash(part));
  }
  const parts = await g.send(new ListPartsCommand({ accountId: '-', vaultName: 'sdk', uploadId, limit: 2 }));
  assert.equal(parts.Parts!.length, 2);
  assert.ok(parts.Marker);
  const ups = await g.send(new ListMultipartUploadsCommand({ accountId: '-', vaultName: 'sdk' }));
  assert.equal(ups.UploadsList![0]!.ArchiveDescription, 'sdk multi');
  const done = await g.send(new CompleteMultipartUploadCommand({ accountId: '-', vaultName: 'sdk', uploadId, archiveSize: String(data.length), checksum: treeHash(data) }));
  assert.equal(done.checksum, treeHash(data));
  assert.ok((await stored('sdk', done.archiveId!)).equals(data));
  const d = await g.send(new DescribeVaultCommand({ accountId: '-', vaultName: 'sdk' }));
  assert.equal(d.NumberOfArchives, 2);
  await g.send(new DeleteArchiveCommand({ accountId: '-', vaultName: 'sdk', archiveId: up.archiveId! }));
  const err = await g.send(new DeleteArchiveCommand({ accountId: '-', vaultName: 'cli', archiveId: done.archiveId! })).catch((e: Error) => e);
  assert.equal((err as Error).name, 'InvalidParameterValueException');
});

test('aws CLI: upload-archive and initiate / upload-multipart-part / complete-multipart-upload', async () => {
  const single = randomBytes(MiB + 1);
  writeFileSync(join(dir, 'single.bin'), single);
  let r = await awsCli(s.url, s.creds, ['upload-archive', '--account-id', '-', '--vault-name', 'cli', '--body', join(dir, 'single.bin'), '--archive-description', 'cli single']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.checksum, treeHash(single));
  assert.ok((await stored('cli', r.json.archiveId)).equals(single));

  const data = randomBytes(2 * MiB + 10);
  r = await awsCli(s.url, s.creds, ['initiate-multipart-upload', '--account-id', '-', '--vault-name', 'cli', '--part-size', String(MiB)]);
  assert.equal(r.code, 0, r.stderr);
  const uploadId = r.json.uploadId;
  for (let off = 0, i = 0; off < data.length; off += MiB, i++) {
    const part = data.subarray(off, off + MiB);
    const f = join(dir, `part${i}`);
    writeFileSync(f, part);
    r = await awsCli(s.url, s.creds, ['upload-multipart-part', '--account-id', '-', '--vault-name', 'cli', '--upload-id', uploadId, '--body', f, '--range', `bytes ${off}-${off + part.length - 1}/*`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.checksum, treeHash(part));
  }
  r = await awsCli(s.url, s.creds, ['list-parts', '--account-id', '-', '--vault-name', 'cli', '--upload-id', uploadId]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.Parts.length, 3);
  r = await awsCli(s.url, s.creds, ['complete-multipart-upload', '--account-id', '-', '--vault-name', 'cli', '--upload-id', uploadId, '--archive-size', String(data.length), '--checksum', treeHash(data)]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.checksum, treeHash(data));
  assert.ok((await stored('cli', r.json.archiveId)).equals(data));
  r = await awsCli(s.url, s.creds, ['delete-archive', '--account-id', '-', '--vault-name', 'cli', '--archive-id', r.json.archiveId]);
  assert.equal(r.code, 0, r.stderr);
});

test('boto3: upload_archive, a multipart upload with botocore-computed hashes, and the ListParts paginator', async () => {
  const r = await python(
    s.url,
    s.creds,
    BOTO3_PRELUDE +
      `
import hashlib
from botocore.utils import calculate_tree_hash
import io
data = bytes((i * 7 + 3) % 251 for i in range(3 * 1048576 + 5))
single = g.upload_archive(vaultName='boto', body=data[:1048576], archiveDescription='boto single')
ps = 1048576
init = g.initiate_multipart_upload(vaultName='boto', partSize=str(ps), archiveDescription='boto multi')
uid = init['uploadId']
for off in reversed(range(0, len(data), ps)):
    part = data[off:off + ps]
    g.upload_multipart_part(vaultName='boto', uploadId=uid, range='bytes %d-%d/*' % (off, off + len(part) - 1), body=part)
pages = list(g.get_paginator('list_parts').paginate(vaultName='boto', uploadId=uid, PaginationConfig={'PageSize': 3}))
th = calculate_tree_hash(io.BytesIO(data))
done = g.complete_multipart_upload(vaultName='boto', uploadId=uid, archiveSize=str(len(data)), checksum=th)
again = g.complete_multipart_upload(vaultName='boto', uploadId=uid, archiveSize=str(len(data)), checksum=th)
print(json.dumps({
  'single': [single['archiveId'], single['checksum'], calculate_tree_hash(io.BytesIO(data[:1048576]))],
  'page_sizes': [len(p['Parts']) for p in pages],
  'done': [done['archiveId'], done['checksum'], th],
  'again_same': again['archiveId'] == done['archiveId'],
  'bad_part_size': err(g.initiate_multipart_upload, vaultName='boto', partSize='3145728'),
  'list_parts_after': err(g.list_parts, vaultName='boto', uploadId=uid),
  'sha': hashlib.sha256(data).hexdigest(),
}))
`,
  );
  assert.equal(r.code, 0, r.stderr);
  const o = r.json;
  assert.equal(o.single[1], o.single[2]);
  assert.deepEqual(o.page_sizes, [3, 1]);
  assert.equal(o.done[1], o.done[2]);
  assert.equal(o.again_same, true);
  assert.equal(o.bad_part_size[0], 'InvalidParameterValueException');
  assert.equal(o.list_parts_after[0], 'ResourceNotFoundException');
  const data = Buffer.from(Array.from({ length: 3 * MiB + 5 }, (_, i) => (i * 7 + 3) % 251));
  assert.ok((await stored('boto', o.done[0])).equals(data));
  assert.ok((await stored('boto', o.single[0])).equals(data.subarray(0, MiB)));
});
