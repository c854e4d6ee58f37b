import { createHash, createHmac } from 'node:crypto';
import { SNSClient, PublishCommand } from '@aws-sdk/client-sns';
import type { Logger } from '../lib/logger.js';
import { isoMs } from '../lib/clock.js';
import { globToRegExp, type SinkRule, type SnsSinkRule, type WebhookSinkRule } from './rules.js';

/** One outbox row on its way out. */
export interface Notification {
  /** Outbox row id. */
  id: number;
  topicArn: string;
  /** The DescribeJob JSON, delivered verbatim as the message body (DG configuring-notifications). */
  message: string;
  createdAt: number;
  attempts: number;
}

export interface Sink {
  readonly kind: 'log' | 'webhook' | 'sns';
  /** Resolves once the destination has accepted the message; rejects to have it retried. */
  deliver(n: Notification, signal: AbortSignal): Promise<void>;
  close?(): void;
}

/**
 * A stable id per outbox row, shaped like an SNS MessageId (a UUID), identical on every retry so
 * that receivers can drop the duplicates an at-least-once delivery may produce.
 */
export function notificationMessageId(n: Pick<Notification, 'id' | 'topicArn' | 'message'>): string {
  const h = createHash('sha256').update(`${n.id}\n${n.topicArn}\n${n.message}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export class LogSink implements Sink {
  readonly kind = 'log' as const;
  constructor(private readonly log: Logger) {}

  async deliver(n: Notification) {
    this.log.info({ topicArn: n.topicArn, messageId: notificationMessageId(n), notification: n.message }, 'job notification');
  }
}

/** The header a webhook receiver checks: `sha256=` + hex HMAC-SHA256 of the raw body under the secret. */
export const SIGNATURE_HEADER = 'x-firn-signature-256';

export function webhookSignature(secret: string, body: string | Buffer): string {
  return 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
}

/**
 * The POST body: an SNS-style envelope (the keys an SNS HTTP subscription receives), so that code
 * written for SNS-over-HTTP reads `Message` the same way. It is signed with HMAC-SHA256 instead of
 * SNS's certificate signature.
 */
export function webhookEnvelope(n: Notification): string {
  return JSON.stringify({
    Type: 'Notification',
    MessageId: notificationMessageId(n),
    TopicArn: n.topicArn,
    Message: n.message,
    Timestamp: isoMs(n.createdAt),
    SignatureVersion: 'firn-hmac-sha256',
  });
}

export class WebhookSink implements Sink {
  readonly kind = 'webhook' as const;
  constructor(private readonly rule: WebhookSinkRule) {}

  async deliver(n: Notification, signal: AbortSignal) {
    const body = webhookEnvelope(n);
    const res = await fetch(this.rule.url, {
      method: 'POST',
      signal,
      // A redirect is a misconfigured URL, not a delivery: fetch would turn the POST into a GET.
      redirect: 'manual',
      headers: {
        ...this.rule.headers,
        'content-type': 'application/json; charset=utf-8',
        'user-agent': 'firn-notify/1',
        'x-amz-sns-message-type': 'Notification',
        'x-amz-sns-message-id': notificationMessageId(n),
        'x-amz-sns-topic-arn': n.topicArn,
        'x-firn-delivery-attempt': String(n.attempts),
        [SIGNATURE_HEADER]: webhookSignature(this.rule.secret, body),
      },
      body,
    });
    // Drain the body so the connection can be reused; its content does not matter.
    await res.arrayBuffer().catch(() => undefined);
    if (res.status < 200 || res.status > 299) throw new Error(`webhook ${this.rule.url} answered HTTP ${res.status}`);
  }
}

/** Region of an SNS topic ARN (`arn:aws:sns:<region>:<account>:<name>`), if it has one. */
export function topicRegion(arn: string): string | undefined {
  const parts = arn.split(':');
  return parts.length >= 6 && parts[2] === 'sns' && parts[3] ? parts[3] : undefined;
}

/** Publishes through the SNS API to any SNS-compatible endpoint (AWS SNS, moto, LocalStack, …). */
export class SnsSink implements Sink {
  readonly kind = 'sns' as const;
  readonly #clients = new Map<string, SNSClient>();

  constructor(
    private readonly rule: SnsSinkRule,
    private readonly timeoutMs: number,
  ) {}

  #client(topicArn: string): SNSClient {
    const region = this.rule.region ?? topicRegion(topicArn) ?? 'us-east-1';
    let c = this.#clients.get(region);
    if (!c) {
      c = new SNSClient({
        region,
        ...(this.rule.endpoint ? { endpoint: this.rule.endpoint } : {}),
        ...(this.rule.accessKeyId && this.rule.secretAccessKey
          ? {
              credentials: {
                accessKeyId: this.rule.accessKeyId,
                secretAccessKey: this.rule.secretAccessKey,
                ...(this.rule.sessionToken ? { sessionToken: this.rule.sessionToken } : {}),
              },
            }
          : {}),
        // The outbox retries with its own durable backoff; SDK retries would only hide failures.
        maxAttempts: 1,
        requestHandler: { connectionTimeout: this.timeoutMs, requestTimeout: this.timeoutMs },
      });
      this.#clients.set(region, c);
    }
    return c;
  }

  async deliver(n: Notification, signal: AbortSignal) {
    const id = notificationMessageId(n);
    const fifo = n.topicArn.endsWith('.fifo');
    await this.#client(n.topicArn).send(
      new PublishCommand({
        TopicArn: n.topicArn,
        Message: n.message,
        // FIFO topics require both; the stable id makes SNS itself drop a redelivery within 5 minutes.
        ...(fifo ? { MessageGroupId: 'glacier', MessageDeduplicationId: id } : {}),
      }),
      { abortSignal: signal },
    );
  }

  close() {
    for (const c of this.#clients.values()) c.destroy();
    this.#clients.clear();
  }
}

/** Routes a topic ARN to its sink: the first rule whose glob matches, else the log sink. */
export class SinkRouter {
  readonly #routes: { re: RegExp; sink: Sink }[];
  readonly #fallback: Sink;

  constructor(rules: readonly SinkRule[], opts: { log: Logger; timeoutMs: number }) {
    this.#fallback = new LogSink(opts.log);
    this.#routes = rules.map((r) => ({
      re: globToRegExp(r.topic),
      sink: r.sink === 'log' ? this.#fallback : r.sink === 'webhook' ? new WebhookSink(r) : new SnsSink(r, opts.timeoutMs),
    }));
  }

  route(topicArn: string): Sink {
    return this.#routes.find((r) => r.re.test(topicArn))?.sink ?? this.#fallback;
  }

  close() {
    for (const r of this.#routes) r.sink.close?.();
  }
}
