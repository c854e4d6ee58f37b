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
  /** How a value is written in docs, `--help` and messages, when String() is not it (durations). */
  format?(value: T): string;
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
const UNITS = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
] as const;
const UNIT_LIST = 'ms, s, m, h or d (500ms, 30s, 5m, 24h, 1d)';

/**
 * Durations are always written with a unit (`24h`, `500ms`); only `0` may go without. A bare
 * number is refused rather than guessed: `86400000` is one day in milliseconds but 1,000 days in
 * seconds.
 */
export const parseDuration = (raw: string): number => {
  const s = raw.trim();
  if (s === '0') return 0;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(s);
  if (!m) {
    if (/^\d+(\.\d+)?$/.test(s)) throw new ConfigValueError(`a duration without a unit is ambiguous: write ${s}ms or ${s}s (units: ${UNIT_LIST})`);
    throw new ConfigValueError(`must be a duration with a unit: ${UNIT_LIST}, or 0`);
  }
  return Math.round(Number(m[1]) * UNITS.find(([u]) => u === m[2])![1]);
};

/** The shortest exact way to write `ms` as parseDuration reads it, in hours rather than days (`24h`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  for (const [unit, n] of UNITS) if (unit !== 'd' && ms % n === 0) return `${ms / n}${unit}`;
  return `${ms}ms`;
}

const duration = { parse: parseDuration, format: (v: number | null) => (v === null ? '(unset)' : formatDuration(v)) };

/** A key's default as docs and `--help` show it, in the notation a value is written in. */
export function showDefault(key: ConfigKey<unknown>): string {
  if (key.format) return key.format(key.default);
  if (key.default === '' || key.default === null) return '(unset)';
  return typeof key.default === 'object' ? JSON.stringify(key.default) : String(key.default);
}

/** Sizes: a number of bytes, or with a binary unit: `64KiB`, `512MiB`, `2GiB`, `1TiB`. */
export const parseSize = (raw: string): number => {
  const m = /^(\d+)\s*(B|KiB|MiB|GiB|TiB)?$/.exec(raw.trim());
  if (!m) throw new ConfigValueError('must be a size such as 0, 1048576, 512MiB or 2GiB');
  const n = Number(m[1]) * 1024 ** ['B', 'KiB', 'MiB', 'GiB', 'TiB'].indexOf(m[2] ?? 'B');
  if (!Number.isSafeInteger(n)) throw new ConfigValueError('is too large');
  return n;
};

/** The shortest exact way to write a size as parseSize reads it (`256MiB`). */
export function formatSize(n: number): string {
  for (const [i, unit] of [[4, 'TiB'], [3, 'GiB'], [2, 'MiB'], [1, 'KiB']] as const) if (n > 0 && n % 1024 ** i === 0) return `${n / 1024 ** i}${unit}`;
  return String(n);
}

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
  masterKeyFile: {
    env: 'FIRN_MASTER_KEY_FILE',
    flag: '--master-key-file',
    default: '',
    description:
      'File with the key that encrypts stored secret access keys (empty: `<data dir>/master.key`). Every process that shares one metadata database needs the same file. A missing file is created (atomically, so concurrent first starts agree) only while no secret is stored; otherwise Firn refuses to start.',
    parse: str(/.+/, 'must not be empty'),
  },
  metadataUrl: {
    env: 'FIRN_METADATA_URL',
    flag: '--metadata-url',
    default: '',
    description:
      'Where the metadata lives. Empty: SQLite in the data directory (embedded mode, one server). `postgres://user:password@host:port/database` (parameters such as `?sslmode=require` or `?options=-c%20search_path%3Dfirn` pass to the driver; the schema is the connection\'s current schema): PostgreSQL, shared by any number of servers; the schema is migrated at start-up. Admin commands use the same setting.',
    parse: str(/^postgres(ql)?:\/\/.+/, 'must be a postgres:// or postgresql:// URL (or empty for SQLite)'),
  },
  blobUrl: {
    env: 'FIRN_BLOB_URL',
    flag: '--blob-url',
    default: '',
    description:
      'Where archive bytes live. Empty: files under `<data dir>/blobs`. `s3://bucket` or `s3://bucket/prefix`: objects in that S3 bucket (the bucket must exist; keys go under the prefix), reached with the FIRN_S3_* settings; each server\'s data directory then only holds scratch files. Several servers can share one bucket and prefix only when they also share FIRN_METADATA_URL.',
    parse: str(/^s3:\/\/.+/, 'must be an s3://bucket or s3://bucket/prefix URL (or empty for files in the data directory)'),
  },
  s3Endpoint: {
    env: 'FIRN_S3_ENDPOINT',
    flag: '--s3-endpoint',
    default: '',
    description: 'URL of an S3-compatible server (`http://127.0.0.1:7480` for radosgw, MinIO, …). Empty: AWS S3 in FIRN_S3_REGION.',
    parse: str(/^https?:\/\/.+/, 'must be an http:// or https:// URL (or empty for AWS)'),
  },
  s3Region: {
    env: 'FIRN_S3_REGION',
    flag: '--s3-region',
    default: 'us-east-1',
    description: 'Region the S3 requests are signed for (most S3-compatible servers accept any, often only us-east-1).',
    parse: str(/^[a-z0-9-]+$/, 'must be a region name such as us-east-1'),
  },
  s3AccessKeyId: {
    env: 'FIRN_S3_ACCESS_KEY_ID',
    flag: '--s3-access-key-id',
    default: '',
    description: 'Access key id for S3. Empty (with FIRN_S3_SECRET_ACCESS_KEY empty): the AWS SDK default credential chain (AWS_ACCESS_KEY_ID, ~/.aws, instance or container roles).',
    parse: str(/^\S+$/, 'must not contain spaces'),
  },
  s3SecretAccessKey: {
    env: 'FIRN_S3_SECRET_ACCESS_KEY',
    flag: '--s3-secret-access-key',
    default: '',
    description: 'Secret access key for S3, set together with FIRN_S3_ACCESS_KEY_ID.',
    parse: str(/^\S+$/, 'must not contain spaces'),
  },
  s3ForcePathStyle: {
    env: 'FIRN_S3_FORCE_PATH_STYLE',
    flag: '--s3-force-path-style',
    default: null as boolean | null,
    description:
      'Address buckets as `endpoint/bucket/key` (true) rather than `bucket.endpoint/key` (false, virtual-hosted). Unset: true when FIRN_S3_ENDPOINT is set (what self-hosted servers expect without wildcard DNS), false for AWS.',
    parse: bool,
    format: (v: boolean | null) => (v === null ? '(unset)' : String(v)),
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
  // Notifications, data-retrieval policy, provisioned capacity.
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
    default: parseDuration('1s'),
    description: 'How often the notification worker looks for due outbox rows.',
    ...duration,
  },
  notifyRetryBase: {
    env: 'FIRN_NOTIFY_RETRY_BASE',
    flag: '--notify-retry-base',
    default: parseDuration('5s'),
    description: 'Delay before the first retry of a failed notification; it doubles with every further failure.',
    ...duration,
  },
  notifyRetryMax: {
    env: 'FIRN_NOTIFY_RETRY_MAX',
    flag: '--notify-retry-max',
    default: parseDuration('1h'),
    description: 'Longest delay between retries of a failing notification. Notifications are retried until delivered.',
    ...duration,
  },
  notifyTimeout: {
    env: 'FIRN_NOTIFY_TIMEOUT',
    flag: '--notify-timeout',
    default: parseDuration('10s'),
    description: 'Time limit of one delivery attempt (SNS Publish or webhook POST).',
    ...duration,
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
  // The job system.
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
    description: 'Fixed completion time of Expedited archive retrievals, overriding FIRN_RETRIEVAL_TIMING.',
    ...duration,
  },
  timingStandard: {
    env: 'FIRN_TIMING_STANDARD',
    flag: '--timing-standard',
    default: null as number | null,
    description: 'Fixed completion time of Standard archive retrievals, overriding FIRN_RETRIEVAL_TIMING.',
    ...duration,
  },
  timingBulk: {
    env: 'FIRN_TIMING_BULK',
    flag: '--timing-bulk',
    default: null as number | null,
    description: 'Fixed completion time of Bulk archive retrievals, overriding FIRN_RETRIEVAL_TIMING.',
    ...duration,
  },
  timingInventory: {
    env: 'FIRN_TIMING_INVENTORY',
    flag: '--timing-inventory',
    default: null as number | null,
    description: 'Fixed completion time of inventory retrievals (they have no tier), overriding FIRN_RETRIEVAL_TIMING.',
    ...duration,
  },
  jobOutputRetention: {
    env: 'FIRN_JOB_OUTPUT_RETENTION',
    flag: '--job-output-retention',
    default: parseDuration('24h'),
    description:
      'How long a completed job and its output stay available (AWS: at least 24 h). Afterwards DescribeJob and GetJobOutput answer 404, ListJobs drops the job and its pinned archive bytes are released.',
    ...duration,
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
    default: parseDuration('5s'),
    description:
      'Longest time the job engine sleeps between looks at the queue. It also wakes at the next due time, on InitiateJob and when the test clock moves; with several servers on one database this bounds how late another node notices a job.',
    ...duration,
  },
  lease: {
    env: 'FIRN_LEASE',
    flag: '--lease',
    default: parseDuration('60s'),
    description:
      "How long this server's leases last, in domain time: its claims on running jobs and on the blobs it is writing (uploads, inventory outputs). It renews them every third of this while it runs. A server that dies or stalls for longer loses them: its jobs may be claimed again and its unfinished blobs are reclaimed by the upload sweep, and a write that then tries to commit fails with a retryable 503. Embedded (SQLite) start-up releases every lease left by a previous run at once.",
    parse: (raw: string) => {
      const v = parseDuration(raw);
      if (v < 1000 || v > 86_400_000) throw new ConfigValueError('must be a duration from 1s to 24h');
      return v;
    },
    format: (v: number) => formatDuration(v),
  },
  inventoryMode: {
    env: 'FIRN_INVENTORY',
    flag: '--inventory',
    default: 'live' as 'live' | 'daily',
    description:
      'In both modes DescribeVault counts are those of the inventory dated LastInventoryDate, an inventory job returns that inventory with that date (InventoryDate), and the date moves only when archives were added or deleted. live: every archive addition or deletion is itself an inventory, so counts are current and LastInventoryDate is the time of the last addition or deletion. daily: like AWS, the vault is inventoried on a cadence (FIRN_INVENTORY_CADENCE) after it changes, and DeleteVault is refused while the last inventory holds archives or the vault was written since. Before its first inventory (live: never written) a vault shows LastInventoryDate null with 0 archives and 0 bytes, and an inventory job returns an empty list dated at the vault\'s creation.',
    parse: oneOf('live', 'daily'),
  },
  inventoryCadence: {
    env: 'FIRN_INVENTORY_CADENCE',
    flag: '--inventory-cadence',
    default: parseDuration('24h'),
    description:
      'daily inventory mode: a vault written since its last snapshot is inventoried again once this long has passed since that snapshot (since its first upload, for the first one). AWS: about a day.',
    ...duration,
  },
  uploadIdleExpiry: {
    env: 'FIRN_UPLOAD_IDLE_EXPIRY',
    flag: '--upload-idle-expiry',
    default: parseDuration('24h'),
    description:
      'A multipart upload with no part uploaded for this long (domain clock) expires and its parts are deleted (AWS: uploads may be reclaimed after 24 h of inactivity).',
    ...duration,
  },
  uploadBodyTimeout: {
    env: 'FIRN_UPLOAD_BODY_TIMEOUT',
    flag: '--upload-body-timeout',
    default: parseDuration('2m'),
    description:
      'A request body that sends no byte for this long (real time) is refused with 408 RequestTimeoutException and the connection closed; for an upload (UploadArchive, UploadMultipartPart) nothing is stored.',
    ...duration,
  },
  headersTimeout: {
    env: 'FIRN_HEADERS_TIMEOUT',
    flag: '--headers-timeout',
    default: parseDuration('20s'),
    description: 'A client must send the complete request headers within this long (real time) of starting a request, or it is answered 408 and the connection closed.',
    ...duration,
  },
  freeSpaceReserve: {
    env: 'FIRN_FREE_SPACE_RESERVE',
    flag: '--free-space-reserve',
    default: 256 * 1024 * 1024,
    description:
      'Free space (bytes; or with a unit: 512MiB, 2GiB) kept on the data directory\'s file system: uploads that would leave less are refused (507), so metadata writes, DeleteArchive, AbortMultipartUpload and InitiateJob keep working on a disk that uploads filled.',
    parse: (raw: string) => parseSize(raw),
    format: (v: number) => formatSize(v),
  },
  uploadSweepInterval: {
    env: 'FIRN_UPLOAD_SWEEP_INTERVAL',
    flag: '--upload-sweep-interval',
    default: parseDuration('1m'),
    description: 'How often (real time) idle multipart uploads are expired and unreferenced blobs are deleted.',
    ...duration,
  },
  shutdownGrace: {
    env: 'FIRN_SHUTDOWN_GRACE',
    flag: '--shutdown-grace',
    default: parseDuration('30s'),
    description:
      'On SIGTERM or SIGINT the server stops accepting connections and lets requests in flight (uploads included) finish for up to this long, then cuts them and exits. A second signal exits at once.',
    ...duration,
  },
  verifyDownloads: {
    env: 'FIRN_VERIFY_DOWNLOADS',
    flag: '--verify-downloads',
    default: true,
    description:
      'GetJobOutput checks each MiB of archive bytes against the SHA-256 recorded at upload (on a worker thread) before sending it, and cuts the response short at a damaged MiB. Archive retrievals always check their bytes before they succeed.',
    parse: bool,
  },
  scrubInterval: {
    env: 'FIRN_SCRUB_INTERVAL',
    flag: '--scrub-interval',
    default: 0,
    description:
      'Background scrub: every this long (real time, counted from the end of the previous pass) the server re-reads every archive and multipart part and checks it against its SHA-256 leaf hashes, logging damage at error level. 0 turns it off. `firn scrub` does one pass on demand.',
    ...duration,
  },
  scrubReadRate: {
    env: 'FIRN_SCRUB_READ_RATE',
    flag: '--scrub-read-rate',
    default: 64,
    description: 'The background scrub reads at most this many MiB per second, so that it leaves the disk to requests.',
    parse: int(1, 1_000_000),
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
