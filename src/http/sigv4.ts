import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { Errors, withReason } from '../domain/errors.js';

/**
 * Server-side AWS Signature Version 4 verification (header form), as Glacier uses it.
 *
 * - The canonical request is rebuilt from the SignedHeaders list exactly as sent.
 * - Glacier is not S3: the canonical URI is the already-encoded path encoded again per segment.
 * - Node decodes header bytes as latin1, so the canonical request is hashed as latin1 bytes;
 *   otherwise a non-ASCII header value (an archive description) would never verify.
 */

export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const ALGORITHM = 'AWS4-HMAC-SHA256';
export const MAX_SKEW_MS = 15 * 60 * 1000;

export interface ParsedAuthorization {
  accessKeyId: string;
  date: string; // yyyymmdd from the credential scope
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

export interface SignableRequest {
  method: string;
  /** The raw request target path, as sent (still percent-encoded). */
  rawPath: string;
  /** The raw query string without the leading `?`. */
  rawQuery: string;
  /** Node's rawHeaders: [name, value, name, value, …]. */
  rawHeaders: string[];
}

export function parseAuthorization(header: string): ParsedAuthorization {
  const trimmed = header.trim();
  if (!trimmed.startsWith(ALGORITHM + ' ')) {
    throw Errors.incompleteSignature(`Authorization header requires the ${ALGORITHM} algorithm`);
  }
  const fields = new Map<string, string>();
  for (const part of trimmed.slice(ALGORITHM.length + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!credential || !signedHeaders || !signature) {
    const missing = ['Credential', 'SignedHeaders', 'Signature'].filter((k) => !fields.get(k));
    throw Errors.incompleteSignature(
      `Authorization header requires '${missing.join("', '")}' parameter(s). Authorization=${ALGORITHM} ...`,
    );
  }
  const scope = credential.split('/');
  if (scope.length !== 5 || scope[4] !== 'aws4_request') {
    throw Errors.incompleteSignature(`Credential should be scoped to a valid region, not '${scope[2] ?? ''}'. `);
  }
  const [accessKeyId, date, region, service] = scope as [string, string, string, string];
  if (!/^\d{8}$/.test(date)) throw Errors.incompleteSignature('Credential should be scoped to a valid date.');
  if (!/^[a-z0-9-]{1,64}$/.test(region)) {
    throw Errors.incompleteSignature(`Credential should be scoped to a valid region, not '${region}'. `);
  }
  if (!/^[0-9a-f]{64}$/.test(signature)) {
    throw Errors.invalidSignature(SIGNATURE_MISMATCH);
  }
  return {
    accessKeyId,
    date,
    region,
    service,
    signedHeaders: signedHeaders.split(';').map((h) => h.trim().toLowerCase()),
    signature,
  };
}

export const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

/** RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~ */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * The one canonical form of a request path, used both to verify the signature and to route, so
 * that the path that was signed is the path that is served. AWS SigV4 for every service but S3:
 * "Normalize URI paths according to RFC 3986. Remove redundant and relative path components"
 * (AWS General Reference, "Create a canonical request"): dot segments are resolved and empty
 * segments dropped, as botocore and the AWS SDK for JavaScript do when they sign; a trailing
 * slash is kept. The result is still percent-encoded.
 *
 * Returns null for a path that cannot be canonicalised: not starting with `/`, climbing above
 * the root, or with a percent-encoded dot segment (`%2E`, `.%2e`: RFC 3986 makes it a dot
 * segment, while signers take it for a name, so it has no single meaning).
 */
export function canonicalPath(rawPath: string): string | null {
  if (!rawPath.startsWith('/')) return null;
  const out: string[] = [];
  for (const seg of rawPath.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length === 0) return null;
      out.pop();
      continue;
    }
    if (/^(?:\.|%2e){1,2}$/i.test(seg)) return null;
    out.push(seg);
  }
  return '/' + out.join('/') + (out.length > 0 && rawPath.endsWith('/') ? '/' : '');
}

/** Non-S3 rule: the canonical path with each (already encoded) segment encoded again. */
export function canonicalUri(rawPath: string): string {
  const path = canonicalPath(rawPath);
  if (path === null) throw Errors.invalidSignature(SIGNATURE_MISMATCH);
  return path
    .split('/')
    .map((seg) => uriEncode(seg))
    .join('/');
}

export function canonicalQuery(rawQuery: string): string {
  if (!rawQuery) return '';
  const pairs: [string, string][] = [];
  for (const part of rawQuery.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const k = eq < 0 ? part : part.slice(0, eq);
    const v = eq < 0 ? '' : part.slice(eq + 1);
    pairs.push([uriEncode(safeDecode(k.replace(/\+/g, '%20'))), uriEncode(safeDecode(v.replace(/\+/g, '%20')))]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function canonicalHeaderValues(rawHeaders: string[], signed: string[]): string {
  const values = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    let list = values.get(name);
    if (!list) values.set(name, (list = []));
    list.push(rawHeaders[i + 1]!.trim().replace(/\s+/g, ' '));
  }
  let out = '';
  for (const name of signed) {
    const v = values.get(name);
    if (v === undefined) throw Errors.invalidSignature(SIGNATURE_MISMATCH);
    out += `${name}:${v.join(',')}\n`;
  }
  return out;
}

export function buildCanonicalRequest(req: SignableRequest, signedHeaders: string[], payloadHash: string): string {
  return [
    req.method.toUpperCase(),
    canonicalUri(req.rawPath),
    canonicalQuery(req.rawQuery),
    canonicalHeaderValues(req.rawHeaders, signedHeaders),
    signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
}

const keyCache = new Map<string, Buffer>();

export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const cacheKey = `${secret}\0${date}\0${region}\0${service}`;
  const hit = keyCache.get(cacheKey);
  if (hit) return hit;
  const kDate = createHmac('sha256', 'AWS4' + secret).update(date).digest();
  const kRegion = createHmac('sha256', kDate).update(region).digest();
  const kService = createHmac('sha256', kRegion).update(service).digest();
  const key = createHmac('sha256', kService).update('aws4_request').digest();
  if (keyCache.size > 1000) keyCache.clear();
  keyCache.set(cacheKey, key);
  return key;
}

export function stringToSign(amzDate: string, scope: string, canonicalRequest: string): string {
  const hash = createHash('sha256').update(Buffer.from(canonicalRequest, 'latin1')).digest('hex');
  return `${ALGORITHM}\n${amzDate}\n${scope}\n${hash}`;
}

export function computeSignature(secret: string, auth: Pick<ParsedAuthorization, 'date' | 'region' | 'service'>, amzDate: string, canonicalRequest: string): string {
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const sts = stringToSign(amzDate, scope, canonicalRequest);
  return createHmac('sha256', signingKey(secret, auth.date, auth.region, auth.service)).update(sts).digest('hex');
}

/** Parses `YYYYMMDD'T'HHMMSS'Z'` to epoch ms, or NaN. */
export function parseAmzDate(s: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return NaN;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
}

export function formatAmzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

export function headerValue(rawHeaders: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === name) return rawHeaders[i + 1];
  }
  return undefined;
}

/**
 * Everything about the signature that the headers alone decide (service, date, scope, the
 * ±15-minute window, `host` signed), so that a request that fails them is refused before its body
 * is read. Returns the request date as signed.
 */
export function checkSignatureHeaders(req: SignableRequest, auth: ParsedAuthorization, nowMs: number): string {
  if (auth.service !== 'glacier') {
    throw Errors.invalidSignature(`Credential should be scoped to correct service: 'glacier'. `);
  }
  const amzDate = (headerValue(req.rawHeaders, 'x-amz-date') ?? headerValue(req.rawHeaders, 'date'))?.trim();
  if (!amzDate) {
    throw Errors.incompleteSignature('Authorization header requires existence of either a \'X-Amz-Date\' or a \'Date\' header.');
  }
  const reqMs = parseAmzDate(amzDate);
  if (Number.isNaN(reqMs)) {
    throw Errors.incompleteSignature(`Date must be in ISO-8601 'basic format'. Got '${amzDate}'. See http://en.wikipedia.org/wiki/ISO_8601`);
  }
  if (!auth.signedHeaders.includes('host')) {
    throw Errors.invalidSignature("'Host' must be a 'SignedHeader' in the AWS Authorization.");
  }
  if (amzDate.slice(0, 8) !== auth.date) {
    throw Errors.invalidSignature(`Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.date}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`);
  }
  if (reqMs < nowMs - MAX_SKEW_MS) {
    throw Errors.invalidSignature(
      `Signature expired: ${amzDate} is now earlier than ${formatAmzDate(nowMs - MAX_SKEW_MS)} (${formatAmzDate(nowMs)} - 15 min.)`,
    );
  }
  if (reqMs > nowMs + MAX_SKEW_MS) {
    throw Errors.invalidSignature(
      `Signature not yet current: ${amzDate} is still later than ${formatAmzDate(nowMs + MAX_SKEW_MS)} (${formatAmzDate(nowMs)} + 15 min.)`,
    );
  }
  return amzDate;
}

/**
 * Verifies the signature and the request date. `payloadHash` is the hash the client signed:
 * the `x-amz-content-sha256` value where sent (verified against the body by the caller), else
 * the SHA-256 of the received body.
 */
export function verifySignature(
  req: SignableRequest,
  auth: ParsedAuthorization,
  secret: string,
  payloadHash: string,
  nowMs: number,
): void {
  const amzDate = checkSignatureHeaders(req, auth, nowMs);
  const creq = buildCanonicalRequest(req, auth.signedHeaders, payloadHash);
  const expected = computeSignature(secret, auth, amzDate, creq);
  const a = Buffer.from(expected, 'hex');
  const b = Buffer.from(auth.signature, 'hex');
  if (a.length !== b.length || !timingSafeEqual(a, b)) {
    throw withReason(Errors.invalidSignature(SIGNATURE_MISMATCH), 'signature mismatch: wrong secret key, or something between client and server changed the path, query or a signed header');
  }
}
