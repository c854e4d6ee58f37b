import type { IncomingMessage } from 'node:http';
import { Errors } from '../domain/errors.js';
import { withIdleTimeout } from '../lib/streams.js';

/**
 * Largest JSON request body accepted. No Glacier operation needs more: a vault access or lock
 * policy is at most 20 KiB ("Vault Lock policy … up to 20 KB", Glacier Developer Guide), and it
 * travels as a JSON string inside the body, where escaping can grow it (botocore writes
 * non-ASCII as \uXXXX); tags are at most 50 × (128 + 256) characters; InitiateJob and
 * SetVaultNotifications parameters are far smaller. 64 KiB covers all of these with room to
 * spare, and bounds what an unauthenticated client can make the server hold to 64 KiB.
 */
export const MAX_JSON_BODY = 64 * 1024;

/** Whether the request carries a body at all (chunked, or a non-zero Content-Length). */
export function hasBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const cl = req.headers['content-length'];
  return cl !== undefined && cl !== '0';
}

function tooLarge(what: string): never {
  throw Errors.payloadTooLarge(`Request body too large: ${what} (the limit for a JSON body is ${MAX_JSON_BODY} bytes)`);
}

/**
 * Reads a small (JSON) request body whole: refused with 413 before a byte is read when the
 * declared Content-Length is over the limit, and as soon as a chunked body passes it; 408 when no
 * byte arrives for `idleMs`.
 */
export async function readSmallBody(req: IncomingMessage, idleMs: number, limit = MAX_JSON_BODY): Promise<Buffer> {
  const declared = req.headers['content-length'];
  const length = declared === undefined ? null : Number(declared);
  if (length !== null && length > limit) tooLarge(`${declared} bytes`);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const c of withIdleTimeout(req as AsyncIterable<Buffer>, idleMs)) {
    // Node enforces Content-Length framing, so only a chunked body can pass the limit here.
    total += c.length;
    if (total > limit) tooLarge(`more than ${limit} bytes`);
    chunks.push(c);
  }
  // A copy sized to the body: the chunks are views of the socket's larger read buffers.
  return Buffer.concat(chunks, total);
}
