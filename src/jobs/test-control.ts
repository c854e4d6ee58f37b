import type { IncomingMessage, ServerResponse } from 'node:http';
import type { App } from '../app.js';
import { describeJobJson } from '../domain/jobs.js';
import { isoMs, OffsetClock } from '../lib/clock.js';
import { sendJson } from '../http/json.js';
import { Errors } from '../domain/errors.js';

/**
 * The test-control API (FIRN_TEST_CONTROL=true only; off by default). Unauthenticated, like the
 * health check, which is why it must never be enabled on a server others use.
 *
 *   GET  /_firn/test/clock                   → {"now","offsetMs"}
 *   POST /_firn/test/clock/advance {"seconds":N}  moves domain time forward, then runs due jobs
 *   POST /_firn/test/clock/reset             domain time back to real time (offset 0)
 *   POST /_firn/test/jobs/run                runs every due job now
 *   POST /_firn/test/jobs/<jobId>/complete   makes the job due now, runs it, answers its DescribeJob JSON
 *   POST /_firn/test/blobs/sweep             runs one blob-maintenance sweep now (lapsed pending blobs,
 *                                            idle uploads, collection), answers {"expiredUploads":N}
 */

const fail = (res: ServerResponse, status: number, code: string, message: string) => sendJson(res, status, { code, message, type: 'Client' });

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > 64 * 1024) throw new Error('body too large');
    chunks.push(c);
  }
  const s = Buffer.concat(chunks).toString('utf8').trim();
  return s === '' ? {} : JSON.parse(s);
}

function clockState(app: App) {
  return { now: isoMs(app.clock.now()), offsetMs: app.clock instanceof OffsetClock ? app.clock.offsetMs : 0 };
}

export async function testControl(req: IncomingMessage, res: ServerResponse, app: App): Promise<boolean> {
  const path = (req.url ?? '').split('?')[0]!;
  if (!path.startsWith('/_firn/test/')) return false;
  if (!app.config.testControl) {
    throw Errors.unknownOperation(
      `No such internal endpoint: ${path}. The test-control API is off; it is enabled by FIRN_TEST_CONTROL=true (--test-control true), never on a server others use`,
    );
  }
  const method = req.method ?? 'GET';
  if (path === '/_firn/test/clock' && method === 'GET') {
    sendJson(res, 200, clockState(app));
    return true;
  }
  if (path === '/_firn/test/clock/advance' && method === 'POST') {
    let body: unknown;
    try {
      body = await readJson(req);
    } catch {
      fail(res, 400, 'SerializationException', 'The request body is not valid JSON');
      return true;
    }
    const seconds = (body as { seconds?: unknown })?.seconds;
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
      fail(res, 400, 'InvalidParameterValueException', 'Expected {"seconds": N} with N ≥ 0');
      return true;
    }
    if (!(app.clock instanceof OffsetClock)) {
      fail(res, 400, 'InvalidParameterValueException', 'This server runs on a clock that cannot be moved');
      return true;
    }
    // advance() wakes the engine (onAdvance); running a pass here makes the answer mean "done".
    app.clock.advance(Math.round(seconds * 1000));
    await app.jobs.runDue();
    sendJson(res, 200, clockState(app));
    return true;
  }
  if (path === '/_firn/test/clock/reset' && method === 'POST') {
    if (app.clock instanceof OffsetClock) app.clock.reset();
    sendJson(res, 200, clockState(app));
    return true;
  }
  if (path === '/_firn/test/jobs/run' && method === 'POST') {
    await app.jobs.runDue();
    sendJson(res, 200, clockState(app));
    return true;
  }
  if (path === '/_firn/test/blobs/sweep' && method === 'POST') {
    // What a sweep timer would do later: with a shared store, other (dead) processes' pending
    // blobs are reclaimed only here, once their leases lapsed in domain time.
    sendJson(res, 200, { expiredUploads: await app.blobMaintenance.sweep() });
    return true;
  }
  const m = /^\/_firn\/test\/jobs\/([A-Za-z0-9_-]+)\/complete$/.exec(path);
  if (m && method === 'POST') {
    const job = await app.store.jobs.getByJobId(m[1]!);
    if (!job) {
      fail(res, 404, 'ResourceNotFoundException', `The job ID was not found: ${m[1]}`);
      return true;
    }
    await app.store.jobs.makeDue(job.seq, app.clock.now());
    await app.jobs.runDue();
    const after = await app.store.jobs.getByJobId(job.jobId);
    sendJson(res, 200, after ? describeJobJson(after) : null);
    return true;
  }
  return false;
}
