import type { ServerResponse } from 'node:http';

/** Writes a compact JSON response (internal endpoints; Glacier operations go through writeResult). */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const buf = Buffer.from(JSON.stringify(body));
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Content-Length', buf.length);
  res.end(buf);
}
