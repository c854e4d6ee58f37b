import { Errors } from '../domain/errors.js';

/**
 * The body's chunks, or 408 RequestTimeoutException once none has arrived for `ms` (DG
 * api-error-responses: "upload body not received in time"). The request
 * is not destroyed here, so the error response still reaches the client; the server closes the
 * connection after it because the body is unread.
 */
export async function* withIdleTimeout(source: AsyncIterable<Buffer>, ms: number): AsyncGenerator<Buffer> {
  const it = source[Symbol.asyncIterator]();
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Errors.requestTimeout(`No part of the request body arrived for ${Math.round(ms / 1000)} seconds`)), ms);
    });
    const next = it.next();
    try {
      const r = await Promise.race([next, timeout]);
      if (r.done) return;
      yield r.value;
    } catch (e) {
      next.catch(() => {});
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }
}
