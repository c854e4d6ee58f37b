import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { finished, pipeline } from 'node:stream/promises';
import type { App } from '../app.js';
import { schema } from '../config/schema.js';
import { Errors, GlacierError, isGlacierError, withReason } from '../domain/errors.js';
import { requestId } from '../domain/ids.js';
import { resourceArn } from '../auth/resources.js';
import { parseJsonLossless, stringifyJsonLossless } from './json.js';
import { Router, type RouteDef } from './routes.js';
import { CONTENT_SHA256_MISMATCH } from '../operations/archives/ingest.js';
import {
  canonicalPath,
  checkSignatureHeaders,
  parseAuthorization,
  verifySignature,
  EMPTY_SHA256,
  SIGNATURE_MISMATCH,
  type ParsedAuthorization,
  type SignableRequest,
} from './sigv4.js';
import { hasBody, readSmallBody } from './body.js';
import { handlers } from '../operations/index.js';
import { observeRequest } from './observe.js';
import type { Caller, OpContext, OpInput, OpResult } from '../operations/types.js';
import { rememberPathVault, VAULT_NAME_RE } from '../operations/common.js';
import type { VaultRecord } from '../storage/metadata/types.js';
import type { BodyChunk } from '../storage/verify.js';

const GLACIER_VERSION = '2012-06-01';

export type InternalHandler = (req: IncomingMessage, res: ServerResponse, app: App) => Promise<boolean>;

export interface HttpOptions {
  /** Extra handlers for `/_firn/…` paths (health, test control); return true when handled. */
  internal?: InternalHandler[];
  /** FIRN_HEADERS_TIMEOUT: the complete request headers must arrive within this many ms. */
  headersTimeout?: number;
}

/**
 * `app` may be a promise: the server can then claim its port before storage is opened (a start
 * that cannot listen changes nothing); requests that arrive meanwhile wait for it.
 */
export function createHttpServer(app: App | Promise<App>, opts: HttpOptions = {}): Server {
  const router = new Router();
  let ready = app instanceof Promise ? null : app;
  const pending = app instanceof Promise ? app.then((a) => (ready = a)) : null;
  pending?.catch(() => {});
  const run = (a: App, req: IncomingMessage, res: ServerResponse) => handle(a, router, opts, req, res).catch((e: unknown) => lastResort(a, req, res, e));
  const headersTimeout = opts.headersTimeout ?? schema.headersTimeout.default;
  const server = createServer(
    {
      keepAlive: true,
      // Multi-GiB uploads can take long: no limit on the whole request (requestTimeout 0); a body
      // that stalls is cut off by the body idle timeout instead. Headers must arrive in full
      // within headersTimeout, checked this often (Node's default check is every 30 s).
      requestTimeout: 0,
      headersTimeout,
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersTimeout / 4))),
    },
    (req, res) => {
      if (ready) void run(ready, req, res);
      else void pending!.then((a) => run(a, req, res), () => res.destroy());
    },
  );
  server.keepAliveTimeout = 5_000;
  return server;
}

/**
 * What escapes `handle` (it should be nothing): logged with the request id, answered 500 if the
 * response is still open, and the server goes on serving. Written so that it cannot throw itself.
 */
function lastResort(app: App, req: IncomingMessage, res: ServerResponse, e: unknown): void {
  try {
    app.log.error({ err: e, reqId: res.getHeader('x-amzn-RequestId'), method: req.method, url: req.url }, 'request handler failed');
    if (!res.headersSent && !res.destroyed) {
      const body = Buffer.from(JSON.stringify(Errors.internal().toJSON()), 'utf8');
      res.writeHead(500, { 'Content-Type': 'application/json', 'Content-Length': body.length, Connection: 'close' });
      res.end(body);
    } else {
      res.destroy();
    }
  } catch {
    req.socket?.destroy();
  }
}

async function handle(app: App, router: Router, opts: HttpOptions, req: IncomingMessage, res: ServerResponse) {
  const started = process.hrtime.bigint();
  const bytesWrittenBefore = req.socket?.bytesWritten ?? 0;
  const reqId = requestId();
  res.setHeader('x-amzn-RequestId', reqId);
  res.setHeader('Date', httpDate(app.wallClock.now()));
  const url = req.url ?? '/';
  const qIdx = url.indexOf('?');
  const rawPath = qIdx < 0 ? url : url.slice(0, qIdx);
  const rawQuery = qIdx < 0 ? '' : url.slice(qIdx + 1);
  let opName = '-';
  let caller: Caller | null = null;
  let failure: unknown = undefined;
  // The operation's abort signal is made only if an operation asks for it (streams do); most never do.
  let abort: AbortController | null = null;
  let clientGone = false;
  res.on('close', () => {
    if (res.writableFinished) return;
    clientGone = true;
    abort?.abort();
  });
  const signal = (): AbortSignal => {
    if (!abort) {
      abort = new AbortController();
      if (clientGone) abort.abort();
    }
    return abort.signal;
  };
  try {
    if (rawPath.startsWith('/_firn/')) {
      for (const h of opts.internal ?? []) if (await h(req, res, app)) return;
      throw Errors.unknownOperation(`No such internal endpoint: ${rawPath}`);
    }
    const path = canonicalPath(rawPath);
    if (path === null) throw Errors.invalidParameter(`The request path cannot be canonicalised: ${rawPath.slice(0, 200)}`);
    const query = new URLSearchParams(rawQuery);
    const m = router.match(req.method ?? 'GET', path, query);
    if (m.kind === 'method-not-allowed') {
      res.setHeader('Allow', m.allow.join(', '));
      throw Errors.methodNotAllowed(`The method ${req.method} is not allowed for the resource ${path}`);
    }
    if (m.kind === 'bad-query') {
      const key = Object.keys(m.expected[0]!)[0]!;
      throw Errors.invalidParameter(
        `Invalid value for query parameter ${key}: ${JSON.stringify(query.get(key))}; expected one of ${m.expected.map((e) => e[key]).join(', ')}`,
      );
    }
    if (m.kind === 'not-found') throw Errors.unknownOperation(`No Glacier operation matches ${req.method} ${path}`);
    const route = m.route;
    opName = route.op;

    const signable: SignableRequest = { method: req.method ?? 'GET', rawPath: path, rawQuery, rawHeaders: req.rawHeaders };
    const { body, contentSha256, ...authn } = await authenticate(app, req, route, signable);
    caller = authn.caller;

    const version = req.headers['x-amz-glacier-version'];
    if (version === undefined) throw Errors.missingParameter('Required header x-amz-glacier-version is missing');
    if (version !== GLACIER_VERSION) throw Errors.invalidParameter(`Invalid x-amz-glacier-version: ${version}; the only supported version is ${GLACIER_VERSION}`);

    const pathAccount = m.params.accountId!;
    let accountId: string;
    if (pathAccount === '-' || pathAccount === caller.accountId) accountId = caller.accountId;
    else if (/^\d{12}$/.test(pathAccount)) accountId = pathAccount;
    else throw Errors.accessDenied('An incorrect AWS account ID was used in the request URI: ' + pathAccount);

    const region = authn.region;
    const now = app.clock.now();
    const vaultName = m.params.vaultName;
    const resource = resourceArn(route.op, region, accountId, vaultName);
    // The vault row is read once here, for the authorizer and then for the operation (requireVault).
    let vault: VaultRecord | null | undefined;
    if (vaultName !== undefined && VAULT_NAME_RE.test(vaultName)) vault = await app.store.vaults.get({ accountId, region, name: vaultName });
    await app.authorizer.authorize({ caller, action: `glacier:${route.op}`, resource, resourceAccountId: accountId, now, ...(vault !== undefined ? { vault } : {}) });

    let json: unknown = undefined;
    if (!route.streaming && body && body.length > 0) {
      try {
        json = parseJsonLossless(body.toString('utf8'));
      } catch {
        throw Errors.serialization('The request body is not valid JSON');
      }
    }
    const ctx: OpContext = {
      app,
      op: route.op,
      requestId: reqId,
      now,
      caller,
      accountId,
      region,
      get signal() {
        return signal();
      },
    };
    if (vault !== undefined) rememberPathVault(ctx, vaultName!, vault);
    const input: OpInput = {
      params: m.params,
      query,
      headers: req.headers,
      body: json,
      stream: route.streaming ? req : null,
      contentSha256,
    };
    const result = await handlers[route.op](ctx, input);
    if (route.streaming) app.space.stored();
    await writeResult(res, result);
  } catch (e) {
    failure = e;
    // req.socket is null once the connection is gone.
    if ((clientGone || res.destroyed || !req.socket || req.socket.destroyed) && !isGlacierError(e)) {
      // The client went away mid-request (e.g. reset while sending a body): nobody to answer.
      app.log.debug({ reqId, op: opName, err: e }, 'client disconnected');
      return;
    }
    // A refused request whose body was not read (an upload) closes the connection after the
    // error response, so the unread bytes cannot be taken for the next request.
    if (!req.complete && !res.headersSent) res.setHeader('Connection', 'close');
    writeError(app, res, e, opName);
  } finally {
    observeRequest(app, { req, res, reqId, op: opName, path: rawPath, started, caller, failure, written: bytesWrittenBefore });
  }
}

/**
 * SigV4 from the headers first, the body after. Unauthenticated and wrongly signed requests are
 * refused before a byte of their body is read, whenever the headers can decide it:
 * - `x-amz-content-sha256` sent (it is then signed): the signature is verified against that claim,
 *   then a JSON body is read and compared with it; an upload is compared while it streams (in the
 *   handler), and an upload must send the header.
 * - no `x-amz-content-sha256` and no body (botocore's GETs): verified against the empty hash.
 * - no `x-amz-content-sha256` with a body (botocore's JSON operations): the signature covers the
 *   body's hash, so the key, the date, the scope and the signed headers are checked first, then the
 *   body is read (at most MAX_JSON_BODY bytes, with the idle timeout) and the signature verified.
 */
async function authenticate(
  app: App,
  req: IncomingMessage,
  route: RouteDef,
  signable: SignableRequest,
): Promise<{ caller: Caller; region: string; body: Buffer | null; contentSha256: string | null }> {
  let claimed = headerString(req, 'x-amz-content-sha256');
  if (claimed !== null && !/^[0-9a-f]{64}$/i.test(claimed)) {
    throw Errors.invalidParameter(`Invalid x-amz-content-sha256: ${claimed}; Glacier requires the hex SHA-256 of the payload`);
  }
  claimed = claimed?.toLowerCase() ?? null;
  if (route.streaming && claimed === null) throw Errors.missingParameter('Required header x-amz-content-sha256 is missing');
  const { auth, secret, caller } = await identify(app, req, signable);
  const now = () => app.wallClock.now();
  let body: Buffer | null = null;
  if (claimed !== null) {
    verifySignature(signable, auth, secret, claimed, now());
    if (!route.streaming) {
      body = await readSmallBody(req, app.config.uploadBodyTimeout);
      if (sha256Hex(body) !== claimed) throw Errors.invalidSignature(CONTENT_SHA256_MISMATCH);
    }
  } else if (!hasBody(req)) {
    verifySignature(signable, auth, secret, EMPTY_SHA256, now());
  } else {
    checkSignatureHeaders(signable, auth, now());
    body = await readSmallBody(req, app.config.uploadBodyTimeout);
    verifySignature(signable, auth, secret, sha256Hex(body), now());
  }
  return { caller, region: auth.region, body, contentSha256: claimed };
}

/** The caller named by the Authorization header: its access key must exist and be active. */
async function identify(app: App, req: IncomingMessage, signable: SignableRequest): Promise<{ auth: ParsedAuthorization; secret: string; caller: Caller }> {
  const header = req.headers.authorization;
  if (!header) {
    if (new URLSearchParams(signable.rawQuery).has('X-Amz-Signature')) {
      throw Errors.missingAuthToken('Query-string (presigned) authentication is not supported by Glacier; sign the Authorization header');
    }
    throw Errors.missingAuthToken('Missing Authentication Token');
  }
  const auth = parseAuthorization(header);
  if (req.headers['x-amz-security-token'] !== undefined) {
    throw Errors.unrecognizedClient('The security token included in the request is invalid.');
  }
  const key = await app.store.accounts.getAccessKey(auth.accessKeyId);
  if (!key || key.status !== 'Active') {
    const e = Errors.unrecognizedClient('The security token included in the request is invalid.');
    throw withReason(e, key ? `access key ${key.accessKeyId} is disabled` : `unknown access key ${auth.accessKeyId}`);
  }
  const caller: Caller = {
    accountId: key.accountId,
    userName: key.userName,
    accessKeyId: key.accessKeyId,
    sourceIp: req.socket?.remoteAddress ?? '',
    secureTransport: false,
  };
  return { auth, secret: key.secret, caller };
}

let dateSecond = NaN;
let dateText = '';
/** The HTTP Date header value, formatted once per second. */
function httpDate(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(ms).toUTCString();
  }
  return dateText;
}

const sha256Hex = (b: Buffer) => (b.length === 0 ? EMPTY_SHA256 : createHash('sha256').update(b).digest('hex'));

function headerString(req: IncomingMessage, name: string): string | null {
  const v = req.headers[name];
  if (v === undefined) return null;
  return Array.isArray(v) ? v.join(',') : v;
}

async function writeResult(res: ServerResponse, result: OpResult): Promise<void> {
  res.statusCode = result.status;
  for (const [k, v] of Object.entries(result.headers ?? {})) res.setHeader(k, v);
  if (result.stream) {
    try {
      await pipeline(result.stream, res);
    } catch {
      // The client went away or the source failed mid-body: the status line is already sent,
      // so the only honest signal left is a truncated body. pipeline() destroyed both ends.
    }
    return;
  }
  if (result.chunks) {
    await writeChunks(res, result.chunks);
    return;
  }
  if (result.json !== undefined) {
    // Written as a string: Node then sends the headers and the body in one write, not a writev of two buffers.
    const body = stringifyJsonLossless(result.json);
    res.setHeader('Content-Type', 'application/json');
    res.setHeader('Content-Length', Buffer.byteLength(body, 'utf8'));
    res.end(body, 'utf8');
    return;
  }
  res.setHeader('Content-Length', 0);
  res.end();
}

/**
 * Writes pooled chunks with backpressure, releasing each one in its write callback: only then has
 * the socket handed the bytes to the kernel (or failed), so a buffer is never reused while it may
 * still be sent. A failing source or a client that goes away cuts the body short, as pipeline does.
 */
async function writeChunks(res: ServerResponse, chunks: AsyncIterable<BodyChunk>): Promise<void> {
  const it = chunks[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await it.next();
      if (next.done) break;
      const { bytes, release } = next.value;
      if (res.destroyed) {
        release();
        break;
      }
      if (!res.write(bytes, () => release()) && !(await drained(res))) break;
    }
    if (!res.destroyed) {
      res.end();
      // As pipeline does: done once the last bytes are out (the access log counts them).
      await finished(res).catch(() => {});
    }
  } catch {
    res.destroy();
  } finally {
    await it.return?.(undefined).catch(() => {});
  }
}

/** Resolves true at 'drain', false if the response closes first. */
function drained(res: ServerResponse): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}

export function writeError(app: App, res: ServerResponse, e: unknown, op: string): void {
  let ge: GlacierError;
  if (isGlacierError(e)) ge = e;
  else {
    const full = app.space.refusal(e);
    if (full) ge = full;
    else {
      ge = Errors.internal();
      app.log.error({ err: e, op }, 'unhandled error');
    }
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = Buffer.from(JSON.stringify(ge.toJSON()), 'utf8');
  res.statusCode = ge.status;
  for (const [k, v] of Object.entries(ge.headers)) res.setHeader(k, v);
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Content-Length', body.length);
  res.end(body);
}

export { SIGNATURE_MISMATCH };
