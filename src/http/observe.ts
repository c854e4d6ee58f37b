import type { IncomingMessage, ServerResponse } from 'node:http';
import type { App } from '../app.js';
import { isGlacierError } from '../domain/errors.js';
import type { Caller } from '../operations/types.js';

export interface RequestOutcome {
  req: IncomingMessage;
  res: ServerResponse;
  reqId: string;
  /** The Glacier operation, or '-' when no route matched. */
  op: string;
  path: string;
  /** process.hrtime.bigint() when the request arrived. */
  started: bigint;
  /** socket.bytesWritten when the request arrived (requests on a connection are answered in turn). */
  written: number;
  caller: Caller | null;
  /** What the handler threw, if anything. */
  failure: unknown;
}

/**
 * Called once per request when it is done: writes the access log line and updates the metrics.
 *
 * The log line carries the operation, the status, the error code and message the client got,
 * and for refusals the operator-only reason (unknown or disabled key, which policy denied).
 * Never a secret: the Authorization header and bodies are not logged.
 */
export function observeRequest(app: App, o: RequestOutcome): void {
  const { req, res } = o;
  const seconds = Number(process.hrtime.bigint() - o.started) / 1e9;
  const ge = isGlacierError(o.failure) ? o.failure : null;
  // 499 (nginx's "client closed request"): the client went away before any answer was sent.
  const status = !res.headersSent && !res.writableEnded ? 499 : res.statusCode;
  // A non-Glacier failure was answered as an opaque 500 (its details are logged by writeError).
  const errorCode = o.failure === undefined ? undefined : (ge?.code ?? (status === 499 ? 'ClientDisconnected' : 'InternalError'));
  const internal = o.path.startsWith('/_firn/');
  // Health probes and scrapes every few seconds would drown the access log. The line is only
  // built when its level is logged.
  const level = internal ? 'debug' : 'info';
  if (app.log.isLevelEnabled(level)) {
    const line = {
      reqId: o.reqId,
      op: o.op,
      method: req.method,
      path: o.path,
      status,
      ms: Math.round(seconds * 10_000) / 10,
      account: o.caller?.accountId,
      key: o.caller?.accessKeyId,
      ...(errorCode !== undefined ? { error: errorCode } : {}),
      ...(ge ? { message: ge.message } : {}),
      ...(ge?.reason !== undefined ? { reason: ge.reason } : {}),
    };
    app.log[level](line, 'request');
  }
  if (internal) return;
  app.metrics.recordRequest({
    operation: o.op === '-' ? 'Unknown' : o.op,
    status,
    seconds,
    bytesIn: req.complete ? Number(req.headers['content-length'] ?? 0) || 0 : 0,
    bytesOut: Math.max(0, (req.socket?.bytesWritten ?? o.written) - o.written),
    errorCode,
  });
}
