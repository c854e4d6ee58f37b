import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import { GlacierClient } from '@aws-sdk/client-glacier';
import { SignatureV4 } from '@smithy/signature-v4';
import { HttpRequest } from '@smithy/protocol-http';
import { Sha256 } from '@aws-crypto/sha256-js';
import { defaultConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { OffsetClock, type Clock } from '../../src/lib/clock.js';
import { silentLogger, type Logger } from '../../src/lib/logger.js';
import { startServer, type RunningServer } from '../../src/main.js';

export const TEST_ACCOUNT = '111122223333';
export const TEST_KEY = 'AKIAFIRNTESTKEY00001';
export const TEST_SECRET = 'firnTestSecretKey/0000000000000000000000';
export const REGION = 'us-east-1';

export interface Creds {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface TestServer {
  url: string;
  port: number;
  running: RunningServer;
  clock: OffsetClock;
  dataDir: string;
  creds: Creds;
  accountId: string;
  /** A real @aws-sdk/client-glacier client pointed at this server. */
  glacier(opts?: { creds?: Creds; region?: string }): GlacierClient;
  /** A raw request signed with @smithy/signature-v4 (the independent oracle). */
  request(req: RawRequest): Promise<RawResponse>;
  /** Stops the server (the data directory is kept until `cleanup`). */
  stop(): Promise<void>;
  /** Stops and removes the data directory. */
  close(): Promise<void>;
}

export interface RawRequest {
  method: string;
  /** The path as it goes on the wire (already percent-encoded), without the query. */
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** false: send unsigned. */
  sign?: boolean;
  creds?: Creds;
  region?: string;
  signingDate?: Date;
  /** Header names to leave out of the signature computation (they are still sent). */
  unsignedHeaders?: string[];
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json(): any;
}

export async function startTestServer(
  opts: { config?: Partial<Config>; clock?: OffsetClock; wallClock?: Clock; dataDir?: string; log?: Logger } = {},
): Promise<TestServer> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'firn-test-'));
  const clock = opts.clock ?? new OffsetClock();
  const config = defaultConfig({
    port: 0,
    dataDir,
    accountId: TEST_ACCOUNT,
    rootAccessKeyId: TEST_KEY,
    rootSecretAccessKey: TEST_SECRET,
    logLevel: 'silent',
    ...opts.config,
  });
  const running = await startServer(config, { clock, log: opts.log ?? silentLogger(), ...(opts.wallClock ? { wallClock: opts.wallClock } : {}) });
  const url = running.url;
  const creds = { accessKeyId: TEST_KEY, secretAccessKey: TEST_SECRET };
  const clients: GlacierClient[] = [];
  return {
    url,
    port: running.port,
    running,
    clock,
    dataDir,
    creds,
    accountId: config.accountId,
    glacier(o = {}) {
      const c = new GlacierClient({
        endpoint: url,
        region: o.region ?? REGION,
        credentials: o.creds ?? creds,
        maxAttempts: 1,
      });
      clients.push(c);
      return c;
    },
    request: (r) => signedRequest(url, { creds, ...r }),
    async stop() {
      for (const c of clients) c.destroy();
      await running.close();
    },
    async close() {
      for (const c of clients) c.destroy();
      await running.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function signedRequest(baseUrl: string, r: RawRequest): Promise<RawResponse> {
  const u = new URL(baseUrl);
  const body = r.body === undefined ? undefined : Buffer.isBuffer(r.body) ? r.body : Buffer.from(r.body);
  const headers: Record<string, string> = {
    host: u.host,
    'x-amz-glacier-version': '2012-06-01',
    ...(body ? { 'content-length': String(body.length) } : {}),
    ...r.headers,
  };
  for (const [k, v] of Object.entries(headers)) if (v === undefined) delete headers[k];
  let finalHeaders = headers;
  if (r.sign !== false) {
    const signer = new SignatureV4({
      credentials: r.creds ?? { accessKeyId: TEST_KEY, secretAccessKey: TEST_SECRET },
      region: r.region ?? REGION,
      service: 'glacier',
      sha256: Sha256,
      uriEscapePath: true,
      applyChecksum: false,
    });
    const req = new HttpRequest({
      method: r.method,
      protocol: 'http:',
      hostname: u.hostname,
      port: Number(u.port),
      path: r.path,
      query: r.query ?? {},
      headers,
      ...(body ? { body } : {}),
    });
    const signed = await signer.sign(req, {
      signingDate: r.signingDate ?? new Date(),
      unsignableHeaders: new Set(r.unsignedHeaders ?? []),
    });
    finalHeaders = signed.headers as Record<string, string>;
  }
  const qs = r.query && Object.keys(r.query).length ? '?' + new URLSearchParams(r.query).toString().replace(/\+/g, '%20') : '';
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, method: r.method, path: r.path + qs, headers: finalHeaders }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const buf = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: buf, json: () => JSON.parse(buf.toString('utf8')) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Headers for a hand-driven UploadArchive (tests that stall or cut the body): both hashes of
 * `data` and a signature over them, as a client would send before streaming the body.
 */
export async function signedUploadHeaders(baseUrl: string, creds: Creds, path: string, data: Buffer, treeHashHex: string): Promise<Record<string, string>> {
  const { createHash } = await import('node:crypto');
  const u = new URL(baseUrl);
  const signer = new SignatureV4({ credentials: creds, region: REGION, service: 'glacier', sha256: Sha256, uriEscapePath: true, applyChecksum: false });
  const headers = {
    host: u.host,
    'x-amz-glacier-version': '2012-06-01',
    'x-amz-content-sha256': createHash('sha256').update(data).digest('hex'),
    'x-amz-sha256-tree-hash': treeHashHex,
    'content-length': String(data.length),
  };
  const signed = await signer.sign(new HttpRequest({ method: 'POST', protocol: 'http:', hostname: u.hostname, port: Number(u.port), path, headers }));
  return signed.headers as Record<string, string>;
}
