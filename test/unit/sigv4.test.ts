import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  buildCanonicalRequest,
  canonicalQuery,
  canonicalUri,
  computeSignature,
  parseAuthorization,
  verifySignature,
  type SignableRequest,
} from '../../src/http/sigv4.js';
import { GlacierError } from '../../src/domain/errors.js';

// DG amazon-glacier-signing-requests; DG amazon-glacier-signing-requests. Key AKIAIOSFODNN7EXAMPLE.
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const sha256 = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

test('DG CreateVault vector: canonical request hash and signature reproduce', () => {
  const req: SignableRequest = {
    method: 'PUT',
    rawPath: '/-/vaults/examplevault',
    rawQuery: '',
    rawHeaders: ['Host', 'glacier.us-east-1.amazonaws.com', 'x-amz-date', '20120525T002453Z', 'x-amz-glacier-version', '2012-06-01'],
  };
  const signed = ['host', 'x-amz-date', 'x-amz-glacier-version'];
  const creq = buildCanonicalRequest(req, signed, sha256(''));
  assert.equal(sha256(creq), '5f1da1a2d0feb614dd03d71e87928b8e449ac87614479332aced3a701f916743');
  const sig = computeSignature(SECRET, { date: '20120525', region: 'us-east-1', service: 'glacier' }, '20120525T002453Z', creq);
  assert.equal(sig, '3ce5b2f2fffac9262b4da9256f8d086b4aaf42eba5f111c21681a65a127b7c2a');
});

test('DG UploadArchive streaming vector reproduces (with the corrected /archives path)', () => {
  const body = 'Welcome to Amazon Glacier.';
  const payload = sha256(body);
  assert.equal(payload, '726e392cb4d09924dbad1cc0ba3b00c3643d03d14cb4b823e2f041cff612a628');
  const req: SignableRequest = {
    method: 'POST',
    rawPath: '/-/vaults/examplevault/archives',
    rawQuery: '',
    rawHeaders: [
      'Host', 'glacier.us-east-1.amazonaws.com',
      'x-amz-content-sha256', payload,
      'x-amz-date', '20120507T000000Z',
      'x-amz-glacier-version', '2012-06-01',
    ],
  };
  const creq = buildCanonicalRequest(req, ['host', 'x-amz-content-sha256', 'x-amz-date', 'x-amz-glacier-version'], payload);
  const sig = computeSignature(SECRET, { date: '20120507', region: 'us-east-1', service: 'glacier' }, '20120507T000000Z', creq);
  assert.equal(sig, 'b092397439375d59119072764a1e9a144677c43d9906fd98a5742c57a2855de6');
});

test('verifySignature accepts the DG vector at its own time and rejects it 16 minutes later', () => {
  const req: SignableRequest = {
    method: 'PUT',
    rawPath: '/-/vaults/examplevault',
    rawQuery: '',
    rawHeaders: ['Host', 'glacier.us-east-1.amazonaws.com', 'x-amz-date', '20120525T002453Z', 'x-amz-glacier-version', '2012-06-01'],
  };
  const auth = parseAuthorization(
    'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20120525/us-east-1/glacier/aws4_request,SignedHeaders=host;x-amz-date;x-amz-glacier-version,Signature=3ce5b2f2fffac9262b4da9256f8d086b4aaf42eba5f111c21681a65a127b7c2a',
  );
  const t = Date.UTC(2012, 4, 25, 0, 24, 53);
  verifySignature(req, auth, SECRET, sha256(''), t + 14 * 60_000);
  assert.throws(() => verifySignature(req, auth, SECRET, sha256(''), t + 16 * 60_000), (e: GlacierError) => e.code === 'InvalidSignatureException' && /Signature expired/.test(e.message));
  assert.throws(() => verifySignature(req, auth, SECRET, sha256(''), t - 16 * 60_000), (e: GlacierError) => /not yet current/.test(e.message));
  assert.throws(() => verifySignature(req, auth, SECRET.replace('w', 'W'), sha256(''), t), (e: GlacierError) => e.code === 'InvalidSignatureException');
  // The body is part of the signature: another payload hash fails.
  assert.throws(() => verifySignature(req, auth, SECRET, sha256('x'), t), (e: GlacierError) => e.status === 403);
  // A tampered signed header fails.
  const tampered = { ...req, rawHeaders: [...req.rawHeaders.slice(0, 5), '2012-06-02'] };
  assert.throws(() => verifySignature(tampered, auth, SECRET, sha256(''), t), (e: GlacierError) => e.code === 'InvalidSignatureException');
});

test('canonical URI double-encodes segments (non-S3 rule) and normalizes dot segments', () => {
  assert.equal(canonicalUri('/-/vaults/my%20vault'), '/-/vaults/my%2520vault');
  assert.equal(canonicalUri('/-/vaults/v/jobs/a%2Fb%2B%3D'), '/-/vaults/v/jobs/a%252Fb%252B%253D');
  assert.equal(canonicalUri('/-/vaults/./x/../y'), '/-/vaults/y');
});

test('canonical query decodes, re-encodes and sorts', () => {
  assert.equal(canonicalQuery('operation=add'), 'operation=add');
  assert.equal(canonicalQuery('marker=a%2Fb%20c&limit=2&completed=true'), 'completed=true&limit=2&marker=a%2Fb%20c');
  assert.equal(canonicalQuery('b=2&a=1&a=0'), 'a=0&a=1&b=2');
  assert.equal(canonicalQuery('flag'), 'flag=');
});

test('parseAuthorization rejects malformed headers with IncompleteSignatureException', () => {
  assert.throws(() => parseAuthorization('Basic abc'), (e: GlacierError) => e.code === 'IncompleteSignatureException' && e.status === 400);
  assert.throws(() => parseAuthorization('AWS4-HMAC-SHA256 Credential=a/b/c'), (e: GlacierError) => e.code === 'IncompleteSignatureException');
});
