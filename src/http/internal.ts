import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { App } from '../app.js';
import type { InternalHandler } from './server.js';
import { testControl } from '../jobs/test-control.js';
import { sendJson } from './json.js';

/**
 * Unauthenticated operator endpoints (documented in docs/operations.md):
 *   GET /_firn/health   200 while the process serves requests (liveness); the body names each
 *                       dependency's state ("ok" or why it is down)
 *   GET /_firn/ready    200 when the metadata store and the blob store answer and the schema is
 *                       migrated; 503 {"status":"unavailable","reason":…} otherwise (readiness)
 *   GET /_firn/metrics  Prometheus text (FIRN_METRICS; FIRN_METRICS_TOKEN requires a bearer token)
 */

function get(req: IncomingMessage, path: string): boolean {
  return req.method === 'GET' && (req.url ?? '').split('?')[0] === path;
}

/** How long a probe waits for a dependency before calling it down: a hung database must not hang the probe. */
const PROBE_TIMEOUT_MS = 2000;

async function probe(what: string, check: () => Promise<string | null>): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`${what} unreachable: no answer within ${PROBE_TIMEOUT_MS / 1000} s`), PROBE_TIMEOUT_MS);
  });
  try {
    return await Promise.race([check().catch((e: unknown) => `${what} unreachable: ${errorSummary(e)}`), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Why the metadata store cannot serve now (unreachable, or a schema this release cannot use), or null. */
function metadataProblem(app: App): Promise<string | null> {
  return probe('metadata store', async () => {
    const { applied, expected } = await app.store.stats.schema();
    if (applied < expected) return `metadata schema not migrated (version ${applied}, expected ${expected})`;
    if (applied > expected) return `metadata schema version ${applied} is newer than this Firn knows (${expected}); run the newer release`;
    return null;
  });
}

function blobProblem(app: App): Promise<string | null> {
  return probe('blob store', async () => {
    await app.blobs.check();
    return null;
  });
}

/** Why the server cannot serve requests now, or null when it can. Reasons never carry paths or secrets. */
export async function notReadyReason(app: App): Promise<string | null> {
  const [metadata, blobs] = await Promise.all([metadataProblem(app), blobProblem(app)]);
  return metadata ?? blobs;
}

function errorSummary(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (typeof code === 'string') return code;
  return e instanceof Error ? e.message.split('\n')[0]!.slice(0, 200) : 'unknown error';
}

/**
 * Liveness: 200 whenever the process answers, whatever its dependencies do (restarting a node does
 * not bring PostgreSQL or the bucket back). The body still says which dependency is down, each
 * "ok" or the reason, so that one look at any node tells an operator where to go.
 */
const health: InternalHandler = async (req, res, app) => {
  if (!get(req, '/_firn/health')) return false;
  const [metadata, blobs] = await Promise.all([metadataProblem(app), blobProblem(app)]);
  sendJson(res, 200, {
    status: 'ok',
    storage: { metadata: app.store.kind, blobs: app.blobs.kind },
    dependencies: { metadata: metadata ?? 'ok', blobs: blobs ?? 'ok' },
  });
  return true;
};

const ready: InternalHandler = async (req, res, app) => {
  if (!get(req, '/_firn/ready')) return false;
  const reason = await notReadyReason(app);
  if (reason === null) sendJson(res, 200, { status: 'ready', storage: { metadata: app.store.kind, blobs: app.blobs.kind } });
  else sendJson(res, 503, { status: 'unavailable', reason });
  return true;
};

const metrics: InternalHandler = async (req, res, app) => {
  if (!app.config.metrics || !get(req, '/_firn/metrics')) return false;
  if (app.config.metricsToken !== '' && !bearerMatches(req, app.config.metricsToken)) {
    res.setHeader('WWW-Authenticate', 'Bearer realm="firn-metrics"');
    sendJson(res, 401, { code: 'Unauthorized', message: 'GET /_firn/metrics needs Authorization: Bearer <FIRN_METRICS_TOKEN>', type: 'Client' });
    return true;
  }
  const body = Buffer.from(await app.metrics.render(), 'utf8');
  res.statusCode = 200;
  res.setHeader('Content-Type', app.metrics.contentType);
  res.setHeader('Content-Length', body.length);
  res.end(body);
  return true;
};

function bearerMatches(req: IncomingMessage, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  if (!m) return false;
  // Compare digests: equal length, constant time, whatever was sent.
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(m[1]!), digest(token));
}

export const internalHandlers: InternalHandler[] = [health, ready, metrics, testControl];
