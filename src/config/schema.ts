/**
 * The one configuration schema. Every key has an environment variable, a matching CLI flag, a
 * default and a description; docs/configuration.md is checked against this table by a test.
 * Config is validated once at start-up and frozen; an invalid value stops the server with a
 * message that names the variable.
 */

import { parseSinkRules, SinkRuleError, type SinkRule } from '../notify/rules.js';

export interface ConfigKey<T> {
  env: string;
  flag: string;
  default: T;
  description: string;
  parse: (raw: string) => T;
}

class ConfigValueError extends Error {}

const int = (min: number, max: number) => (raw: string) => {
  if (!/^\d+$/.test(raw.trim())) throw new ConfigValueError(`must be an integer from ${min} to ${max}`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigValueError(`must be an integer from ${min} to ${max}`);
  return n;
};
const str = (re?: RegExp, what?: string) => (raw: string) => {
  if (re && !re.test(raw)) throw new ConfigValueError(what ?? `must match ${re}`);
  return raw;
};
const oneOf =
  <T extends string>(...values: T[]) =>
  (raw: string): T => {
    if (!(values as string[]).includes(raw)) throw new ConfigValueError(`must be one of: ${values.join(', ')}`);
    return raw as T;
  };
const bool = (raw: string) => {
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigValueError('must be true or false');
};
/** Durations: `500ms`, `30s`, `5m`, `4h`, `1d`, or a plain number of seconds. */
export const parseDuration = (raw: string): number => {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(raw.trim());
  if (!m) throw new ConfigValueError('must be a duration such as 500ms, 30s, 5m, 4h or 1d');
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  const mult = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit]!;
  return Math.round(n * mult);
};

export const schema = {
  host: {
    env: 'FIRN_HOST',
    flag: '--host',
    default: '127.0.0.1',
    description: 'Address to listen on. Loopback by default; set 0.0.0.0 to listen on every interface.',
    parse: str(/^[0-9a-zA-Z.:_-]+$/, 'must be a host name or an IP address'),
  },
  port: {
    env: 'FIRN_PORT',
    flag: '--port',
    default: 4590,
    description: 'TCP port to listen on (0 picks a free one).',
    parse: int(0, 65535),
  },
  dataDir: {
    env: 'FIRN_DATA_DIR',
    flag: '--data-dir',
    default: './data',
    description: 'Directory for the embedded metadata database (SQLite) and the archive files.',
    parse: str(/.+/, 'must not be empty'),
  },
  accountId: {
    env: 'FIRN_ACCOUNT_ID',
    flag: '--account-id',
    default: '',
    description:
      '12-digit account id of the root credentials. With FIRN_ROOT_ACCESS_KEY_ID and FIRN_ROOT_SECRET_ACCESS_KEY; when all three are unset, random ones are generated on first start, stored in the data directory and printed once.',
    parse: str(/^\d{12}$/, 'must be exactly 12 digits'),
  },
  rootAccessKeyId: {
    env: 'FIRN_ROOT_ACCESS_KEY_ID',
    flag: '--root-access-key-id',
    default: '',
    description: 'Access key id of the account root (16–128 characters of [A-Z0-9]).',
    parse: str(/^[A-Za-z0-9]{16,128}$/, 'must be 16 to 128 letters and digits'),
  },
  rootSecretAccessKey: {
    env: 'FIRN_ROOT_SECRET_ACCESS_KEY',
    flag: '--root-secret-access-key',
    default: '',
    description: 'Secret access key of the account root (at least 16 characters). Never logged.',
    parse: str(/^\S{16,256}$/, 'must be 16 to 256 characters without spaces'),
  },
  logLevel: {
    env: 'FIRN_LOG_LEVEL',
    flag: '--log-level',
    default: 'info' as 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent',
    description: 'Log level: fatal, error, warn, info, debug, trace or silent. Logs are JSON lines on stdout.',
    parse: oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
  },
  testControl: {
    env: 'FIRN_TEST_CONTROL',
    flag: '--test-control',
    default: false,
    description:
      'Enables the test-control API under /_firn/test/ (advance the clock, complete jobs now). Off by default; never enable it on a server others use.',
    parse: bool,
  },
  maxVaultsPerAccount: {
    env: 'FIRN_MAX_VAULTS',
    flag: '--max-vaults',
    default: 1000,
    description: 'Vaults per account and region before CreateVault answers LimitExceededException (AWS: 1,000).',
    parse: int(1, 1_000_000),
  },
  // Issue #5: notifications, data-retrieval policy, provisioned capacity.
  notifySinks: {
    env: 'FIRN_NOTIFY_SINKS',
    flag: '--notify-sinks',
    default: [] as SinkRule[],
    description:
      'Where job-completion notifications go: a JSON list of {"topic": "<topic ARN glob>", "sink": "sns" | "webhook" | "log", …}, first match wins. sns: "endpoint", "region", "accessKeyId", "secretAccessKey" (each optional). webhook: "url", "secret" (HMAC-SHA256 key of the X-Firn-Signature-256 header), "headers". Topics no rule matches (all of them by default) go to the log.',
    parse: (raw: string) => {
      try {
        return parseSinkRules(raw);
      } catch (e) {
        if (e instanceof SinkRuleError) throw new ConfigValueError(e.message);
        throw e;
      }
    },
  },
  notifyPollInterval: {
    env: 'FIRN_NOTIFY_POLL_INTERVAL',
    flag: '--notify-poll-interval',
    default: 1000,
    description: 'How often the notification worker looks for due outbox rows (a duration: 500ms, 1s, …).',
    parse: (raw: string) => parseDuration(raw),
  },
  notifyRetryBase: {
    env: 'FIRN_NOTIFY_RETRY_BASE',
    flag: '--notify-retry-base',
    default: 5000,
    description: 'Delay before the first retry of a failed notification; it doubles with every further failure.',
    parse: (raw: string) => parseDuration(raw),
  },
  notifyRetryMax: {
    env: 'FIRN_NOTIFY_RETRY_MAX',
    flag: '--notify-retry-max',
    default: 3_600_000,
    description: 'Longest delay between retries of a failing notification. Notifications are retried until delivered.',
    parse: (raw: string) => parseDuration(raw),
  },
  notifyTimeout: {
    env: 'FIRN_NOTIFY_TIMEOUT',
    flag: '--notify-timeout',
    default: 10_000,
    description: 'Time limit of one delivery attempt (SNS Publish or webhook POST).',
    parse: (raw: string) => parseDuration(raw),
  },
  notifyWarnAfter: {
    env: 'FIRN_NOTIFY_WARN_AFTER',
    flag: '--notify-warn-after',
    default: 3,
    description: 'Failed attempts of one notification after which every further failure is logged as a warning (earlier ones at debug).',
    parse: int(1, 1_000_000),
  },
  freeTierBytesPerDay: {
    env: 'FIRN_FREE_TIER_BYTES_PER_DAY',
    flag: '--free-tier-bytes-per-day',
    default: 357_913_941,
    description:
      'Daily allowance of the FreeTier data-retrieval policy: Standard archive retrievals in any rolling 24 hours may total this many bytes. Default: 10 GiB a month, prorated per day, like the old AWS free tier.',
    parse: int(0, Number.MAX_SAFE_INTEGER),
  },
  provisionedCapacity: {
    env: 'FIRN_PROVISIONED_CAPACITY',
    flag: '--provisioned-capacity',
    default: 'unlimited' as 'unlimited' | 'enforce',
    description:
      'unlimited: every Expedited retrieval is accepted. enforce: Expedited retrievals draw on purchased provisioned capacity (3 per unit per rolling 5 minutes) and fail with InsufficientCapacityException when it runs out.',
    parse: oneOf('unlimited', 'enforce'),
  },
  // Issue #4: the job system.
  retrievalTiming: {
    env: 'FIRN_RETRIEVAL_TIMING',
    flag: '--retrieval-timing',
    default: 'instant' as 'instant' | 'fast' | 'aws',
    description:
      'How long jobs take. instant: done as soon as the job engine runs them (tests, CI). fast: seconds (Expedited 2 s, Standard 5 s, Bulk 10 s, inventory 5 s). aws: as AWS states them (Expedited 1–5 min, Standard 3–5 h, Bulk 5–12 h, inventory 3–5 h; a random time in the range). The FIRN_TIMING_* keys override one tier.',
    parse: oneOf('instant', 'fast', 'aws'),
  },
  timingExpedited: {
    env: 'FIRN_TIMING_EXPEDITED',
    flag: '--timing-expedited',
    default: null as number | null,
    description: 'Fixed completion time of Expedited archive retrievals (a duration: 0, 30s, 5m, …), overriding FIRN_RETRIEVAL_TIMING.',
    parse: (raw: string) => parseDuration(raw),
  },
  timingStandard: {
    env: 'FIRN_TIMING_STANDARD',
    flag: '--timing-standard',
    default: null as number | null,
    description: 'Fixed completion time of Standard archive retrievals, overriding FIRN_RETRIEVAL_TIMING.',
    parse: (raw: string) => parseDuration(raw),
  },
  timingBulk: {
    env: 'FIRN_TIMING_BULK',
    flag: '--timing-bulk',
    default: null as number | null,
    description: 'Fixed completion time of Bulk archive retrievals, overriding FIRN_RETRIEVAL_TIMING.',
    parse: (raw: string) => parseDuration(raw),
  },
  timingInventory: {
    env: 'FIRN_TIMING_INVENTORY',
    flag: '--timing-inventory',
    default: null as number | null,
    description: 'Fixed completion time of inventory retrievals (they have no tier), overriding FIRN_RETRIEVAL_TIMING.',
    parse: (raw: string) => parseDuration(raw),
  },
  jobOutputRetention: {
    env: 'FIRN_JOB_OUTPUT_RETENTION',
    flag: '--job-output-retention',
    default: 86_400_000,
    description:
      'How long a completed job and its output stay available (AWS: at least 24 h). Afterwards DescribeJob and GetJobOutput answer 404, ListJobs drops the job and its pinned archive bytes are released.',
    parse: (raw: string) => parseDuration(raw),
  },
  jobMaxAttempts: {
    env: 'FIRN_JOB_MAX_ATTEMPTS',
    flag: '--job-max-attempts',
    default: 5,
    description: 'Attempts at running a job that fails unexpectedly (storage errors, crashes) before it ends Failed.',
    parse: int(1, 1000),
  },
  jobPollInterval: {
    env: 'FIRN_JOB_POLL_INTERVAL',
    flag: '--job-poll-interval',
    default: 5000,
    description:
      'Longest time the job engine sleeps between looks at the queue. It also wakes at the next due time, on InitiateJob and when the test clock moves; with several servers on one database this bounds how late another node notices a job.',
    parse: (raw: string) => parseDuration(raw),
  },
  inventoryMode: {
    env: 'FIRN_INVENTORY',
    flag: '--inventory',
    default: 'live' as 'live' | 'daily',
    description:
      'live: an inventory job lists the vault as it is when the job completes, DescribeVault counts are current and LastInventoryDate is the completion time of the last inventory job. daily: like AWS, the vault is inventoried on a cadence (FIRN_INVENTORY_CADENCE) after it changes; inventory jobs return the last snapshot, DescribeVault counts and LastInventoryDate are as of it, and DeleteVault is refused while the last snapshot holds archives or the vault was written since.',
    parse: oneOf('live', 'daily'),
  },
  inventoryCadence: {
    env: 'FIRN_INVENTORY_CADENCE',
    flag: '--inventory-cadence',
    default: 86_400_000,
    description:
      'daily inventory mode: a vault written since its last snapshot is inventoried again once this long has passed since that snapshot (since its first upload, for the first one). AWS: about a day.',
    parse: (raw: string) => parseDuration(raw),
  },
  uploadIdleExpiry: {
    env: 'FIRN_UPLOAD_IDLE_EXPIRY',
    flag: '--upload-idle-expiry',
    default: 86_400_000,
    description:
      'A multipart upload with no part uploaded for this long (domain clock) expires and its parts are deleted (AWS: uploads may be reclaimed after 24 h of inactivity).',
    parse: (raw: string) => parseDuration(raw),
  },
  uploadBodyTimeout: {
    env: 'FIRN_UPLOAD_BODY_TIMEOUT',
    flag: '--upload-body-timeout',
    default: 120_000,
    description:
      'An upload (UploadArchive, UploadMultipartPart) whose body sends no byte for this long (real time) is refused with 408 RequestTimeoutException and nothing is stored.',
    parse: (raw: string) => parseDuration(raw),
  },
  uploadSweepInterval: {
    env: 'FIRN_UPLOAD_SWEEP_INTERVAL',
    flag: '--upload-sweep-interval',
    default: 60_000,
    description: 'How often (real time) idle multipart uploads are expired and unreferenced blobs are deleted.',
    parse: (raw: string) => parseDuration(raw),
  },
  metrics: {
    env: 'FIRN_METRICS',
    flag: '--metrics',
    default: true,
    description: 'Serve Prometheus metrics at GET /_firn/metrics (see docs/operations.md). false turns the endpoint off (404).',
    parse: bool,
  },
  metricsToken: {
    env: 'FIRN_METRICS_TOKEN',
    flag: '--metrics-token',
    default: '',
    description: 'When set, GET /_firn/metrics requires `Authorization: Bearer <token>` (401 otherwise). Never logged.',
    parse: str(/^\S{16,256}$/, 'must be 16 to 256 characters without spaces'),
  },
} satisfies Record<string, ConfigKey<unknown>>;

export type Schema = typeof schema;
export type Config = { readonly [K in keyof Schema]: Schema[K]['default'] };

export { ConfigValueError };
