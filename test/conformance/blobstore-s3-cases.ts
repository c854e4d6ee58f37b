import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { S3BlobStore } from '../../src/storage/blobs/s3/index.js';
import { openBlobStore } from '../../src/storage/blobs/index.js';
import { parseS3Url } from '../../src/storage/blobs/s3/url.js';
import { DataDirError } from '../../src/storage/data-dir.js';
import { emptyPrefix, freshBucket, s3BlobConfig, testS3Client, type TestS3 } from '../helpers/s3.js';
import { blobStoreConformance } from './blobstore-suite.js';

export interface S3ServerTraits {
  /** Whether the server refuses a request signed with the wrong secret key (moto accepts any). */
  checksCredentials: boolean;
}

/**
 * The BlobStore contract and the S3 store's own cases against a real S3 server `s3`: each suite
 * id is a key prefix in one fresh bucket, so "another process on the same storage" is another
 * store on the same prefix. Call at a test file's top level.
 */
export async function s3BlobStoreTests(name: string, s3: TestS3, traits: S3ServerTraits): Promise<void> {
  const blobUrl = await freshBucket(s3, 'conformance');
  const { bucket, prefix } = parseS3Url(blobUrl);
  const client = testS3Client(s3);
  after(() => client.destroy());
  const storeFor = (id: string) => openBlobStore({ dataDir: '/nonexistent', ...s3BlobConfig(s3, `${blobUrl}/${id}`) }) as S3BlobStore;

  blobStoreConformance(
    name,
    async (id) => storeFor(id),
    async (id) => emptyPrefix(client, bucket, `${prefix}${id}/`),
    {
      tempCount: async (id) => {
        const s = storeFor(id);
        try {
          return await s.openUploads();
        } finally {
          await s.close();
        }
      },
    },
  );

  test(`${name}: a write of announced size (one streamed PutObject) reads back; a short one fails and leaves nothing`, async () => {
    const store = storeFor('sized');
    try {
      const data = Buffer.alloc(3 * 1024 * 1024 + 3, 7);
      const key = store.newKey('blob');
      const w = await store.create(key, { size: data.length });
      const last = data.length - 3;
      for (let off = 0; off < last; off += 100_000) await w.writeShared(data.subarray(off, Math.min(off + 100_000, last)), Math.min(100_000, last - off));
      // Not visible while incomplete. (Once the last byte is sent S3 may complete the PutObject before
      // commit() is called: harmless, since the metadata does not know the key until the commit.)
      assert.equal(await store.size(key), null, 'not visible before the last byte');
      await w.write(data.subarray(last));
      assert.equal(await w.commit(), key);
      assert.equal(await store.size(key), data.length);
      const chunks: Buffer[] = [];
      for await (const c of store.read(key, 1000, 2_000_000)) chunks.push(c as Buffer);
      assert.ok(Buffer.concat(chunks).equals(data.subarray(1000, 2_000_000)));

      const short = store.newKey('blob');
      const w2 = await store.create(short, { size: 10 });
      await w2.write(Buffer.from('12345'));
      await assert.rejects(() => w2.commit(), RangeError);
      assert.equal(await store.size(short), null);
    } finally {
      await store.close();
    }
  });

  test(`${name}: a write of announced size aborted after all its bytes reached S3 leaves nothing (a hash mismatch is found only then)`, async () => {
    const store = storeFor('sized-abort');
    try {
      const key = store.newKey('blob');
      const w = await store.create(key, { size: 4 });
      await w.write(Buffer.from('abcd'));
      await w.abort();
      await w.abort();
      assert.equal(await store.size(key), null);
      // 3 MiB: the abort comes while the bytes are still on their way (the server completed such an
      // object after the client had cancelled the request, and it stayed, unknown to the metadata).
      const big = store.newKey('blob');
      const w2 = await store.create(big, { size: 3 * 1024 * 1024 });
      await w2.write(Buffer.alloc(3 * 1024 * 1024, 1));
      await w2.abort();
      assert.equal(await store.size(big), null);
      for await (const k of store.list()) assert.fail(`${k} is listed`);
    } finally {
      await store.close();
    }
  });

  test(`${name}: an empty blob of unknown size commits (a multipart upload of one empty part)`, async () => {
    const store = storeFor('empty');
    try {
      const key = store.newKey('blob');
      const w = await store.create(key);
      assert.equal(await w.commit(), key);
      assert.equal(await store.size(key), 0);
    } finally {
      await store.close();
    }
  });

  test(`${name}: a missing blob: read fails with ENOENT before any data, size is null`, async () => {
    const store = storeFor('missing');
    try {
      const key = store.newKey('blob');
      let data = 0;
      const r = store.read(key, 0, 10);
      r.on('data', () => data++);
      const err = await new Promise<NodeJS.ErrnoException>((resolve) => r.once('error', resolve));
      assert.equal(err.code, 'ENOENT');
      assert.equal(data, 0);
      assert.equal(await store.size(key), null);
      const m = store.newKey('manifest');
      await assert.rejects(async () => {
        for await (const _ of store.read(m, 0, 1));
      }, { code: 'ENOENT' });
    } finally {
      await store.close();
    }
  });

  test(`${name}: a bucket that does not exist, bad keys, or a dead endpoint: init fails with one line naming endpoint and bucket`, async () => {
    const cases: [Parameters<typeof openBlobStore>[0], RegExp][] = [
      [{ dataDir: '/x', ...s3BlobConfig(s3, 's3://firn-no-such-bucket-here') }, /^cannot use the S3 bucket firn-no-such-bucket-here at http:\/\/127\.0\.0\.1:\d+: the bucket does not exist/],
      [{ dataDir: '/x', ...s3BlobConfig(s3, blobUrl), s3Endpoint: 'http://127.0.0.1:1' }, /^cannot use the S3 bucket \S+ at http:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/],
    ];
    if (traits.checksCredentials) {
      cases.push([{ dataDir: '/x', ...s3BlobConfig(s3, blobUrl), s3SecretAccessKey: 'wrong-secret-key-0123456789' }, /^cannot use the S3 bucket \S+ at http:\/\/127\.0\.0\.1:\d+: access denied/]);
    }
    for (const [config, re] of cases) {
      const store = openBlobStore(config);
      try {
        await assert.rejects(
          () => store.init({ exclusive: false }),
          (e: Error) => {
            assert.ok(e instanceof DataDirError, `${e.name}: ${e.message}`);
            assert.match(e.message, re);
            assert.doesNotMatch(e.message, /\n/);
            return true;
          },
        );
      } finally {
        await store.close();
      }
    }
  });
}
