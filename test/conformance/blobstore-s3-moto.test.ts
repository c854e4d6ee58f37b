import { after } from 'node:test';
import { startMoto } from '../helpers/moto.js';
import { s3BlobStoreTests } from './blobstore-s3-cases.js';

// A second S3 implementation (moto's S3, python3 + moto are part of the machine image), so that
// the store does not rest on one server's quirks. radosgw stays the reference (blobstore-s3.test.ts).
// moto accepts any keys, so the wrong-secret case is radosgw's alone.
const moto = await startMoto();
await s3BlobStoreTests('moto', { endpoint: moto.url, accessKeyId: 'firn-test', secretAccessKey: 'firn-test-secret', region: 'us-east-1' }, { checksCredentials: false });
// Registered after the bucket's cleanup, so it runs after it.
after(() => moto.stop());
