import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';

/** One notification a webhook sink delivered: the envelope's topic and message id, the message parsed. */
export interface Received {
  topicArn: string;
  messageId: string;
  message: any;
}

/**
 * The receiver from the README on 127.0.0.1:`port`: verifies X-Firn-Signature-256 (HMAC-SHA256
 * of the raw body under `secret`), records the notification in `got` and answers 204; a request
 * with a bad signature goes to `bad` and gets 401.
 */
export function startWebhookReceiver(port: number, secret: string, got: Received[], bad: string[]): Promise<Server> {
  const srv = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const expected = Buffer.from('sha256=' + createHmac('sha256', secret).update(raw).digest('hex'));
      const given = Buffer.from(String(req.headers['x-firn-signature-256'] ?? ''));
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        bad.push(raw.toString());
        res.statusCode = 401;
        return res.end();
      }
      const env = JSON.parse(raw.toString('utf8'));
      got.push({ topicArn: env.TopicArn, messageId: env.MessageId, message: JSON.parse(env.Message) });
      res.statusCode = 204;
      res.end();
    });
  });
  return new Promise((resolve) => srv.listen(port, '127.0.0.1', () => resolve(srv)));
}

/** Polls `cond` every 50 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function until(what: string, cond: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
