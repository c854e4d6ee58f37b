import { useTestS3 } from '../helpers/s3.js';
import { s3BlobStoreTests } from './blobstore-s3-cases.js';

// The reference S3 server: radosgw (FIRN_TEST_S3_ENDPOINT, or one scripts/radosgw.sh starts for this file).
await s3BlobStoreTests('radosgw', useTestS3(), { checksCredentials: true });
