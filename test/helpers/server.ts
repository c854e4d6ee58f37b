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
import { existingMetaDb } from '../../src/storage/data-dir.js';
import { SqliteMetadataStore } from '../../src/storage/metadata/sqlite/index.js';
import type { MetadataStore } from '../../src/storage/metadata/types.js';
import { FsBlobStore } from '../../src/storage/blobs/fs/index.js';
import type { BlobStore } from '../../src/storage/blobs/types.js';
import { newAccount, sharedServer, sharedStateDir } from './shared-server.js';
import { dropSchema, testMetadataUrl } from './metadata.js';

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
  /** FIRN_METADATA_URL of this server: a fresh PostgreSQL schema under FIRN_TEST_METADATA=postgres, else undefined (SQLite). */
  metadataUrl: string | undefined;
  creds: Creds;
  accountId: string;
  /** A real @aws-sdk/client-glacier client pointed at this server. */
  glacier(opts?: { creds?: Creds; region?: string }): GlacierClient;
  /** A raw request signed with @smithy/signature-v4 (the independent oracle). */
  request(req: RawRequest): Promise<RawResponse>;
  /** Moves domain time forward by `ms`, then runs every job that became due. */
  advanceClock(ms: number): Promise<void>;
  /** Runs every due job now. */
  runDueJobs(): Promise<void>;
  /** An archive's bytes as stored, read through the metadata and blob stores (not the API). */
  storedArchive(vault: string, archiveId: string): Promise<Buffer>;
  /** Stops the server (the data directory is kept until `cleanup`). */
  stop(): Promise<void>;
  /** Stops and removes the data directory. */
  close(): Promise<void>;
}

export interface TestServerOptions {
  config?: Partial<Config>;
  clock?: OffsetClock;
  wallClock?: Clock;
  dataDir?: string;
  log?: Logger;
  /**
   * Always a fresh in-process server, also under `npm run e2e:twice` (FIRN_E2E_SHARED): for tests
   * that use the app's internals (`running`, `clock`) or a configuration that changes every run.
   */
  ownServer?: boolean;
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
  /** Resolve with what arrived (and `cut: true`) when the server cuts the body short, instead of rejecting. */
  allowCut?: boolean;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json(): any;
  /** The body was cut short (only with `allowCut`). */
  cut?: boolean;
}

/**
 * A Firn server for one test file: in-process on a temp data directory (port 0) — or, under
 * `npm run e2e:twice`, a new account on a long-lived shared server (test/helpers/shared-server.ts).
 */
export async function startTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const stateDir = sharedStateDir();
  const shareable = !opts.ownServer && !opts.dataDir && !opts.clock && !opts.wallClock && !opts.log;
  return stateDir && shareable ? startSharedTestServer(stateDir, opts.config ?? {}) : startOwnTestServer(opts);
}

/** Under FIRN_TEST_METADATA=postgres: the schema each data directory's servers use. */
const schemaOfDataDir = new Map<string, string>();

async function startOwnTestServer(opts: TestServerOptions): Promise<TestServer> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'firn-test-'));
  const clock = opts.clock ?? new OffsetClock();
  // A restart on the same data directory finds the same metadata (the schema made for it first).
  const ownSchema = opts.config?.metadataUrl === undefined ? (schemaOfDataDir.get(dataDir) ?? (await testMetadataUrl())) : undefined;
  if (ownSchema) schemaOfDataDir.set(dataDir, ownSchema);
  const config = defaultConfig({
    port: 0,
    dataDir,
    accountId: TEST_ACCOUNT,
    rootAccessKeyId: TEST_KEY,
    rootSecretAccessKey: TEST_SECRET,
    logLevel: 'silent',
    // Tests that leave a connection open should not wait the production 30 s at close.
    shutdownGrace: 2000,
    ...(ownSchema ? { metadataUrl: ownSchema } : {}),
    ...opts.config,
  });
  const running = await startServer(config, { clock, log: opts.log ?? silentLogger(), ...(opts.wallClock ? { wallClock: opts.wallClock } : {}) });
  const { app } = running;
  const c = clientSide(running.url, { accessKeyId: TEST_KEY, secretAccessKey: TEST_SECRET });
  return {
    ...c,
    port: running.port,
    running,
    clock,
    dataDir,
    metadataUrl: config.metadataUrl || undefined,
    accountId: config.accountId,
    async advanceClock(ms) {
      clock.advance(ms);
      await app.jobs.runDue();
    },
    runDueJobs: () => app.jobs.runDue().then(() => {}),
    storedArchive: (vault, archiveId) => readStoredArchive(app.store, app.blobs, config.accountId, vault, archiveId),
    async stop() {
      c.destroyClients();
      await running.close();
    },
    async close() {
      c.destroyClients();
      await running.close();
      rmSync(dataDir, { recursive: true, force: true });
      if (ownSchema) {
        schemaOfDataDir.delete(dataDir);
        await dropSchema(ownSchema);
      }
    },
  };
}

async function startSharedTestServer(stateDir: string, config: Partial<Config>): Promise<TestServer> {
  const info = await sharedServer(stateDir, config);
  const { accountId, creds } = await newAccount(info);
  const c = clientSide(info.url, creds);
  const control = async (path: string, body?: unknown) => {
    const r = await signedRequest(info.url, { method: 'POST', path, sign: false, ...(body ? { body: JSON.stringify(body) } : {}) });
    if (r.status !== 200) throw new Error(`${path}: ${r.status} ${r.body.toString()}`);
  };
  const internals = (what: string) => () => {
    throw new Error(`${what} is not available on a shared server (FIRN_E2E_SHARED); pass ownServer: true`);
  };
  const done = async () => c.destroyClients();
  return {
    ...c,
    port: info.port,
    get running(): RunningServer {
      return internals('running')();
    },
    get clock(): OffsetClock {
      return internals('clock')();
    },
    dataDir: info.dataDir,
    metadataUrl: undefined,
    accountId,
    advanceClock: (ms) => control('/_firn/test/clock/advance', { seconds: ms / 1000 }),
    runDueJobs: () => control('/_firn/test/jobs/run'),
    async storedArchive(vault, archiveId) {
      // Read beside the running server, as the admin commands do.
      const store = new SqliteMetadataStore(existingMetaDb(info.dataDir));
      const blobs = new FsBlobStore(join(info.dataDir, 'blobs'));
      try {
        return await readStoredArchive(store, blobs, accountId, vault, archiveId);
      } finally {
        await blobs.close();
        await store.close();
      }
    },
    stop: done,
    close: done,
  };
}

/** The parts of a TestServer that only need a URL and credentials. */
function clientSide(url: string, creds: Creds) {
  const clients: GlacierClient[] = [];
  return {
    url,
    creds,
    glacier(o: { creds?: Creds; region?: string } = {}) {
      const c = new GlacierClient({ endpoint: url, region: o.region ?? REGION, credentials: o.creds ?? creds, maxAttempts: 1 });
      clients.push(c);
      return c;
    },
    request: (r: RawRequest) => signedRequest(url, { creds, ...r }),
    destroyClients() {
      for (const c of clients) c.destroy();
    },
  };
}

async function readStoredArchive(store: MetadataStore, blobs: BlobStore, accountId: string, vault: string, archiveId: string): Promise<Buffer> {
  const v = await store.vaults.get({ accountId, region: REGION, name: vault });
  if (!v) throw new Error(`no vault ${vault} in account ${accountId}`);
  const a = await store.archives.get(v.id, archiveId);
  if (!a) throw new Error(`archive ${archiveId} is not in ${vault}`);
  const chunks: Buffer[] = [];
  for await (const c of blobs.read(a.blobKey, 0, a.size)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
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
  const send = (retried: boolean): Promise<RawResponse> => new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, method: r.method, path: r.path + qs, headers: finalHeaders }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const buf = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: buf, json: () => JSON.parse(buf.toString('utf8')) });
      });
      res.on('error', (e) => {
        if (!r.allowCut) return reject(e);
        const buf = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: buf, json: () => JSON.parse(buf.toString('utf8')), cut: true });
      });
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      // The keep-alive race (Node's documented pattern): a pooled socket the server closed as idle
      // just as this request went out on it. The server never read the request; send it once more.
      if (req.reusedSocket && e.code === 'ECONNRESET' && !retried) send(true).then(resolve, reject);
      else reject(e);
    });
    req.end(body);
  });
  return send(false);
}

/**
 * Headers for a hand-driven UploadArchive (tests that stall or cut the body): both hashes of
 * `data` and a signature over them, as a client would send before streaming the body. `method`
 * and `extra` headers make it an UploadMultipartPart (PUT with Content-Range).
 */
export async function signedUploadHeaders(
  baseUrl: string,
  creds: Creds,
  path: string,
  data: Buffer,
  treeHashHex: string,
  opts: { method?: string; extra?: Record<string, string> } = {},
): Promise<Record<string, string>> {
  const { createHash } = await import('node:crypto');
  const u = new URL(baseUrl);
  const signer = new SignatureV4({ credentials: creds, region: REGION, service: 'glacier', sha256: Sha256, uriEscapePath: true, applyChecksum: false });
  const headers = {
    host: u.host,
    'x-amz-glacier-version': '2012-06-01',
    'x-amz-content-sha256': createHash('sha256').update(data).digest('hex'),
    'x-amz-sha256-tree-hash': treeHashHex,
    'content-length': String(data.length),
    ...opts.extra,
  };
  const signed = await signer.sign(new HttpRequest({ method: opts.method ?? 'POST', protocol: 'http:', hostname: u.hostname, port: Number(u.port), path, headers }));
  return signed.headers as Record<string, string>;
}

/**
 * The server's process stalls past its lease: its heartbeat stops, domain time passes the lease,
 * and a sweep (another node's, in effect) reaps its pending blobs. The heartbeat then resumes.
 */
export async function stallPastLease(s: TestServer): Promise<void> {
  const app = s.running.app;
  await app.leases.stop();
  s.clock.advance(app.leases.leaseMs + 1);
  await app.blobMaintenance.sweep();
  app.leases.start();
}
