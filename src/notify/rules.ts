/**
 * Sink routing: `FIRN_NOTIFY_SINKS` maps topic ARN glob patterns to sinks, first match wins. Glacier
 * neither creates topics nor checks publish permission (DG configuring-notifications), so any ARN a client names is
 * routed; a topic no rule matches goes to the log sink.
 */

export interface LogSinkRule {
  topic: string;
  sink: 'log';
}

export interface WebhookSinkRule {
  topic: string;
  sink: 'webhook';
  url: string;
  /** HMAC-SHA256 key for the `X-Firn-Signature-256` header. */
  secret: string;
  /** Extra request headers, e.g. an Authorization for the receiver. */
  headers?: Record<string, string>;
}

export interface SnsSinkRule {
  topic: string;
  sink: 'sns';
  /** SNS API endpoint, e.g. http://127.0.0.1:5000 for a local SNS. Omitted: AWS's own endpoint. */
  endpoint?: string;
  /** Omitted: the region in the topic ARN. */
  region?: string;
  /** Omitted: the AWS SDK's default credential chain. */
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
}

export type SinkRule = LogSinkRule | WebhookSinkRule | SnsSinkRule;

export class SinkRuleError extends Error {}

/** `*` matches any run of characters (colons included), `?` exactly one. */
export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

const isStr = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** Parses and validates the JSON list of rules (the value of FIRN_NOTIFY_SINKS). */
export function parseSinkRules(raw: string): SinkRule[] {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw new SinkRuleError('must be a JSON list of {"topic": "<ARN glob>", "sink": "log" | "webhook" | "sns", …}');
  }
  if (!Array.isArray(v)) throw new SinkRuleError('must be a JSON list of sink rules');
  return v.map((r: unknown, i): SinkRule => {
    const where = `rule ${i}`;
    if (typeof r !== 'object' || r === null || Array.isArray(r)) throw new SinkRuleError(`${where}: must be an object`);
    const o = r as Record<string, unknown>;
    if (!isStr(o.topic)) throw new SinkRuleError(`${where}: "topic" (an ARN glob such as "arn:aws:sns:*:*:backups-*" or "*") is required`);
    switch (o.sink) {
      case 'log':
        return { topic: o.topic, sink: 'log' };
      case 'webhook': {
        if (!isStr(o.url) || !/^https?:\/\//.test(o.url)) throw new SinkRuleError(`${where}: webhook "url" must be an http(s) URL`);
        try {
          new URL(o.url);
        } catch {
          throw new SinkRuleError(`${where}: webhook "url" is not a valid URL`);
        }
        if (!isStr(o.secret)) throw new SinkRuleError(`${where}: webhook "secret" (the HMAC-SHA256 signing key) is required`);
        const rule: WebhookSinkRule = { topic: o.topic, sink: 'webhook', url: o.url, secret: o.secret };
        if (o.headers !== undefined) {
          if (typeof o.headers !== 'object' || o.headers === null || Object.values(o.headers).some((h) => typeof h !== 'string')) {
            throw new SinkRuleError(`${where}: webhook "headers" must be an object of strings`);
          }
          rule.headers = o.headers as Record<string, string>;
        }
        return rule;
      }
      case 'sns': {
        const rule: SnsSinkRule = { topic: o.topic, sink: 'sns' };
        for (const k of ['endpoint', 'region', 'accessKeyId', 'secretAccessKey', 'sessionToken'] as const) {
          if (o[k] === undefined) continue;
          if (!isStr(o[k])) throw new SinkRuleError(`${where}: sns "${k}" must be a non-empty string`);
          rule[k] = o[k];
        }
        if (rule.endpoint !== undefined && !/^https?:\/\/[^/]/.test(rule.endpoint)) throw new SinkRuleError(`${where}: sns "endpoint" must be an http(s) URL`);
        if ((rule.accessKeyId === undefined) !== (rule.secretAccessKey === undefined)) {
          throw new SinkRuleError(`${where}: sns "accessKeyId" and "secretAccessKey" go together`);
        }
        return rule;
      }
      default:
        throw new SinkRuleError(`${where}: "sink" must be "log", "webhook" or "sns"`);
    }
  });
}
