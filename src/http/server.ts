import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { App } from '../app.js';
import { Errors, GlacierError, isGlacierError, withReason } from '../domain/errors.js';
import { requestId as newRequestId } from '../domain/ids.js';
import { resourceArn } from '../auth/resources.js';
import { parseJsonLossless, stringifyJsonLossless } from './json.js';
import { Router, type RouteDef } from './routes.js';
import { parseAuthorization, verifySignature, EMPTY_SHA256, SIGNATURE_MISMATCH, type SignableRequest } from './sigv4.js';
import { handlers } from '../operations/index.js';
import { observeRequest } from './observe.js';
import type { Caller, OpContext, OpInput, OpResult } from '../operations/types.js';

const GLACIER_VERSION = '2012-06-01';
/** JSON bodies are small (policies ≤ 20 KB); anything larger is refused before buffering more. */
const MAX_JSON_BODY = 1024 * 1024;

export type InternalHandler = (req: IncomingMessage, res: ServerResponse, app: App) => Promise<boolean>;

export interface HttpOptions {
  /** Extra handlers for `/_firn/…` paths (health, test control); return true when handled. */
  internal?: InternalHandler[];
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
  const server = createServer({ keepAlive: true }, (req, res) => {
    if (ready) void handle(ready, router, opts, req, res);
    else void pending!.then((a) => handle(a, router, opts, req, res), () => res.destroy());
  });
  // Multi-GiB uploads can take long; only the header phase is bounded.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 5_000;
  return server;
}

async function handle(app: App, router: Router, opts: HttpOptions, req: IncomingMessage, res: ServerResponse) {
  const started = process.hrtime.bigint();
  const bytesWrittenBefore = req.socket.bytesWritten;
  const reqId = newRequestId();
  res.setHeader('x-amzn-RequestId', reqId);
  res.setHeader('Date', new Date(app.wallClock.now()).toUTCString());
  const url = req.url ?? '/';
  const qIdx = url.indexOf('?');
  const rawPath = qIdx < 0 ? url : url.slice(0, qIdx);
  const rawQuery = qIdx < 0 ? '' : url.slice(qIdx + 1);
  let opName = '-';
  let caller: Caller | null = null;
  let failure: unknown = undefined;
  const abort = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  try {
    if (rawPath.startsWith('/_firn/')) {
      for (const h of opts.internal ?? []) if (await h(req, res, app)) return;
      throw Errors.unknownOperation(`No such internal endpoint: ${rawPath}`);
    }
    const query = new URLSearchParams(rawQuery);
    const m = router.match(req.method ?? 'GET', rawPath, query);
    if (m.kind === 'method-not-allowed') {
      res.setHeader('Allow', m.allow.join(', '));
      throw Errors.methodNotAllowed(`The method ${req.method} is not allowed for the resource ${rawPath}`);
    }
    if (m.kind === 'bad-query') {
      const key = Object.keys(m.expected[0]!)[0]!;
      throw Errors.invalidParameter(
        `Invalid value for query parameter ${key}: ${JSON.stringify(query.get(key))}; expected one of ${m.expected.map((e) => e[key]).join(', ')}`,
      );
    }
    if (m.kind === 'not-found') throw Errors.unknownOperation(`No Glacier operation matches ${req.method} ${rawPath}`);
    const route = m.route;
    opName = route.op;

    const signable: SignableRequest = { method: req.method ?? 'GET', rawPath, rawQuery, rawHeaders: req.rawHeaders };
    const { body, contentSha256 } = await readBodyForAuth(req, route);
    const authn = await authenticate(app, req, signable, body, contentSha256);
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
    const resource = resourceArn(route.op, region, accountId, m.params.vaultName);
    await app.authorizer.authorize({ caller, action: `glacier:${route.op}`, resource, resourceAccountId: accountId, now });

    let json: unknown = undefined;
    if (!route.streaming && body && body.length > 0) {
      try {
        json = parseJsonLossless(body.toString('utf8'));
      } catch {
        throw Errors.serialization('The request body is not valid JSON');
      }
    }
    const ctx: OpContext = { app, op: route.op, requestId: reqId, now, caller, accountId, region, signal: abort.signal };
    const input: OpInput = {
      params: m.params,
      query,
      headers: req.headers,
      body: json,
      stream: route.streaming ? req : null,
      contentSha256,
    };
    const result = await handlers[route.op](ctx, input);
    await writeResult(res, result);
  } catch (e) {
    failure = e;
    if ((abort.signal.aborted || res.destroyed || req.socket.destroyed) && !isGlacierError(e)) {
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
 * Streaming operations (uploads) are verified against the `x-amz-content-sha256` they sign and
 * the handler checks the body against it while streaming. Every other request body is read
 * whole (it is small) and hashed here.
 */
async function readBodyForAuth(req: IncomingMessage, route: RouteDef): Promise<{ body: Buffer | null; contentSha256: string | null }> {
  const claimed = headerString(req, 'x-amz-content-sha256');
  if (claimed !== null && !/^[0-9a-f]{64}$/i.test(claimed)) {
    throw Errors.invalidParameter(`Invalid x-amz-content-sha256: ${claimed}; Glacier requires the hex SHA-256 of the payload`);
  }
  if (route.streaming) {
    if (claimed === null) throw Errors.missingParameter('Required header x-amz-content-sha256 is missing');
    return { body: null, contentSha256: claimed.toLowerCase() };
  }
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_JSON_BODY) throw Errors.invalidParameter(`Request body too large: ${declared} bytes (limit ${MAX_JSON_BODY})`);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    total += c.length;
    if (total > MAX_JSON_BODY) throw Errors.invalidParameter(`Request body too large (limit ${MAX_JSON_BODY} bytes)`);
    chunks.push(c);
  }
  const body = Buffer.concat(chunks);
  if (claimed !== null) {
    const actual = body.length === 0 ? EMPTY_SHA256 : createHash('sha256').update(body).digest('hex');
    if (actual !== claimed.toLowerCase()) {
      throw Errors.invalidSignature("The provided 'x-amz-content-sha256' header does not match what was computed.");
    }
  }
  return { body, contentSha256: claimed?.toLowerCase() ?? null };
}

async function authenticate(
  app: App,
  req: IncomingMessage,
  signable: SignableRequest,
  body: Buffer | null,
  contentSha256: string | null,
): Promise<{ caller: Caller; region: string }> {
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
  const payloadHash = contentSha256 ?? (body && body.length > 0 ? createHash('sha256').update(body).digest('hex') : EMPTY_SHA256);
  verifySignature(signable, auth, key.secret, payloadHash, app.wallClock.now());
  const caller: Caller = {
    accountId: key.accountId,
    userName: key.userName,
    accessKeyId: key.accessKeyId,
    sourceIp: req.socket.remoteAddress ?? '',
    secureTransport: false,
  };
  return { caller, region: auth.region };
}

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
  if (result.json !== undefined) {
    const body = Buffer.from(stringifyJsonLossless(result.json), 'utf8');
    res.setHeader('Content-Type', 'application/json');
    res.setHeader('Content-Length', body.length);
    res.end(body);
    return;
  }
  res.setHeader('Content-Length', 0);
  res.end();
}

export function writeError(app: App, res: ServerResponse, e: unknown, op: string): void {
  let ge: GlacierError;
  if (isGlacierError(e)) ge = e;
  else {
    ge = Errors.internal();
    app.log.error({ err: e, op }, 'unhandled error');
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
