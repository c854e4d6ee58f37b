import type { Logger } from './logger.js';

/**
 * Errors of one connection that Node can raise outside any request's promise chain (an 'error'
 * event on a socket or stream nobody listens to). They concern only that connection: the server's
 * state is untouched, so the process goes on.
 */
const CONNECTION_ERRORS = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'ETIMEDOUT',
  'ERR_STREAM_PREMATURE_CLOSE',
  'ERR_STREAM_DESTROYED',
  'ERR_STREAM_WRITE_AFTER_END',
  'ERR_HTTP_HEADERS_SENT',
]);

export interface GuardedProcess {
  on(event: 'unhandledRejection', listener: (reason: unknown) => void): unknown;
  on(event: 'uncaughtException', listener: (err: Error) => void): unknown;
}

/**
 * What escapes every handler, never silently:
 * - an unhandled promise rejection is logged at error level and survived. Every unit of shared
 *   state is committed atomically (a SQLite transaction, a rename after fsync), and state of one
 *   request dies with it, so a promise nobody awaited leaves nothing half-done behind.
 * - an uncaught exception from one connection (see CONNECTION_ERRORS) is logged and survived;
 *   any other one was thrown from a callback in the middle of who knows what, so the state can
 *   no longer be trusted: it is logged at fatal level and the process exits with status 1, for a
 *   supervisor to restart it (a restart recovers from the durable state, as after a kill -9).
 */
export function installProcessGuards(log: Logger, proc: GuardedProcess = process, exit: (code: number) => void = (c) => process.exit(c)): void {
  proc.on('unhandledRejection', (reason) => {
    log.error({ err: reason }, 'unhandled promise rejection (the server keeps running)');
  });
  proc.on('uncaughtException', (err) => {
    const code = (err as NodeJS.ErrnoException | null)?.code;
    if (typeof code === 'string' && CONNECTION_ERRORS.has(code)) {
      log.error({ err }, 'uncaught connection error (the server keeps running)');
      return;
    }
    log.fatal({ err }, 'uncaught exception: the server state is unknown, exiting');
    try {
      process.stderr.write(`firn: fatal: uncaught exception, exiting: ${err?.stack ?? String(err)}\n`);
    } finally {
      exit(1);
    }
  });
}
