import { connect } from 'node:net';
import { SignatureV4 } from '@smithy/signature-v4';
import { HttpRequest } from '@smithy/protocol-http';
import { Sha256 } from '@aws-crypto/sha256-js';
import { REGION, type Creds } from './server.js';

export interface Exchange {
  /** Status of the first response, or null if none came. */
  status: number | null;
  text: string;
  /** The server closed the connection (or reset it) before we gave up waiting. */
  closedByServer: boolean;
}

/**
 * Writes raw bytes to the server on a fresh TCP connection and collects what comes back: done
 * when one complete response has arrived (by its Content-Length; if it says `Connection: close`,
 * once the server has closed), when the server closes, or
 * after `quietMs` without a byte from the server. `end` half-closes our side after the writes (a
 * body cut short). Writes the server refuses (it closed early) are not an error.
 */
export function exchange(port: number, parts: (string | Buffer)[], opts: { quietMs?: number; end?: boolean } = {}): Promise<Exchange> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (closedByServer: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : null, text, closedByServer });
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => finish(false), opts.quietMs ?? 200);
    };
    sock.on('data', (c: Buffer) => {
      chunks.push(c);
      const text = Buffer.concat(chunks).toString('latin1');
      const head = text.indexOf('\r\n\r\n');
      const cl = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, head));
      const complete = head >= 0 && cl && text.length >= head + 4 + Number(cl[1]);
      // A response that announces `Connection: close` is done when the server closes.
      if (complete && !/\r\nconnection: *close/i.test(text.slice(0, head))) finish(false);
      else arm();
    });
    sock.on('close', () => finish(true));
    sock.on('error', () => finish(true));
    sock.on('connect', () => {
      for (const p of parts) sock.write(p);
      if (opts.end) sock.end();
      arm();
    });
  });
}

/** Request head (request line + headers + blank line) for `exchange`. */
export function head(method: string, target: string, headers: Record<string, string>): string {
  return `${method} ${target} HTTP/1.1\r\n` + Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n';
}

/** Headers signed with @smithy/signature-v4 for a request whose body is sent by hand. */
export async function signHeaders(
  port: number,
  creds: Creds,
  method: string,
  path: string,
  headers: Record<string, string>,
  opts: { query?: Record<string, string>; body?: Buffer; signingDate?: Date } = {},
): Promise<Record<string, string>> {
  const signer = new SignatureV4({ credentials: creds, region: REGION, service: 'glacier', sha256: Sha256, uriEscapePath: true, applyChecksum: false });
  const all = { host: `127.0.0.1:${port}`, 'x-amz-glacier-version': '2012-06-01', ...headers };
  const req = new HttpRequest({ method, protocol: 'http:', hostname: '127.0.0.1', port, path, query: opts.query ?? {}, headers: all, ...(opts.body ? { body: opts.body } : {}) });
  const signed = await signer.sign(req, { signingDate: opts.signingDate ?? new Date() });
  return signed.headers as Record<string, string>;
}
