import { createHash } from 'node:crypto';
import { Command, Option } from 'commander';
import { GlacierClient } from '@aws-sdk/client-glacier';
import { TreeHasher } from '../domain/treehash.js';

/**
 * Exit codes of `firn upload|download|inventory`. Scripts can rely on them; the README lists them.
 */
export const EXIT = {
  ok: 0,
  /** Anything not listed below (network down after all retries, a server error, a bug). */
  failed: 1,
  /** Bad command line: a missing option, an invalid value, an output file that exists. */
  usage: 2,
  /** The vault, archive or job does not exist (ResourceNotFoundException). */
  notFound: 3,
  /** No credentials, wrong credentials, or access denied. */
  auth: 4,
  /** The local file differs from the one an interrupted upload was sending. */
  fileChanged: 5,
  /** Downloaded bytes failed their tree-hash check (after retries). Nothing was renamed into place. */
  integrity: 6,
  /** `--no-wait`: the retrieval job is not finished yet; its id is on stdout. Run again later. */
  notReady: 75,
  /** Interrupted by Ctrl-C (SIGINT). */
  interrupted: 130,
} as const;

/** An error meant for the user: printed as one line, exits with `code`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code: number = EXIT.failed,
  ) {
    super(message);
  }
}

export interface CommonOptions {
  endpointUrl?: string;
  region?: string;
  profile?: string;
  accountId: string;
  quiet?: boolean;
  concurrency: string;
}

/** The options every transfer command takes. */
export function addCommonOptions(cmd: Command): Command {
  return cmd
    .option('--endpoint-url <url>', 'service endpoint, e.g. http://127.0.0.1:4590 (default: AWS, or AWS_ENDPOINT_URL_GLACIER)')
    .option('--region <region>', 'region (default: AWS_REGION, AWS_DEFAULT_REGION, or the profile\'s region)')
    .option('--profile <name>', 'named profile from ~/.aws/config and ~/.aws/credentials (default: AWS_PROFILE or "default")')
    .option('--account-id <id>', 'account id, "-" for the credentials\' own account', '-')
    .option('--concurrency <n>', 'requests in flight at once', '4')
    .option('-q, --quiet', 'no progress output on stderr');
}

export function positiveInt(raw: string, name: string): number {
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new CliError(`${name} must be a positive integer, got ${JSON.stringify(raw)}`, EXIT.usage);
  return n;
}

/**
 * A Glacier client that finds credentials and region exactly as the aws CLI does: the SDK's
 * default chain (environment, `~/.aws/credentials` and `~/.aws/config` for the profile, SSO,
 * process, web identity, instance metadata). The SDK only reads `AWS_REGION`; the aws CLI reads
 * `AWS_DEFAULT_REGION`, so both are honoured. Retries are ours (`withRetry`), so every request
 * body can be re-read from disk on a retry.
 */
export function makeClient(o: CommonOptions): GlacierClient {
  // The pinned SDK runs on Node 20; its warning is about SDK versions this package does not use.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const region = o.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  return new GlacierClient({
    ...(o.endpointUrl ? { endpoint: o.endpointUrl } : {}),
    ...(region ? { region } : {}),
    ...(o.profile ? { profile: o.profile } : {}),
    maxAttempts: 1,
    bodyChecksumGenerator: precomputedChecksums,
  });
}

/**
 * The Glacier SDK hashes every upload body before sending it. Bodies we send are file streams
 * whose two hashes we computed while reading the part anyway; they are looked up here instead
 * of reading the part a third time.
 */
const knownChecksums = new WeakMap<object, [string, string]>();

export function withChecksums<T extends object>(body: T, linearHex: string, treeHex: string): T {
  knownChecksums.set(body, [linearHex, treeHex]);
  return body;
}

async function precomputedChecksums(request: { body?: unknown }): Promise<[string, string]> {
  const body = request.body;
  const known = body && typeof body === 'object' ? knownChecksums.get(body) : undefined;
  if (known) return known;
  if (typeof body === 'string' || ArrayBuffer.isView(body)) {
    // A view over the same memory: the SDK's JSON bodies warn when converted like strings.
    const buf = typeof body === 'string' ? Buffer.from(body) : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    const th = new TreeHasher();
    th.update(buf);
    return [createHash('sha256').update(buf).digest('hex'), th.digest().treeHash];
  }
  throw new Error('upload body without precomputed checksums');
}

type SdkError = Error & { $metadata?: { httpStatusCode?: number }; code?: string; $fault?: string };

const RETRYABLE_NAMES = new Set([
  'RequestTimeoutException',
  'ThrottlingException',
  'ServiceUnavailableException',
  'SlowDown',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'TimeoutError',
]);
const RETRYABLE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH', 'ERR_STREAM_PREMATURE_CLOSE']);

/** 408, 429, 5xx, throttling, and connection-level failures are worth another attempt. */
export function isRetryable(e: unknown): boolean {
  if (e instanceof RetryableError) return true;
  if (e instanceof CliError) return false;
  const err = e as SdkError;
  const status = err?.$metadata?.httpStatusCode;
  if (status === 408 || status === 429 || (status !== undefined && status >= 500)) return true;
  if (RETRYABLE_NAMES.has(err?.name)) return true;
  if (err?.code && RETRYABLE_CODES.has(err.code)) return true;
  return /socket hang up|ECONNRESET|ECONNREFUSED|EPIPE|aborted/i.test(String(err?.message ?? ''));
}

/** A failure that deserves a retry even though no HTTP status says so (e.g. a corrupted chunk). */
export class RetryableError extends Error {
  constructor(
    message: string,
    readonly finalCode: number = EXIT.failed,
  ) {
    super(message);
  }
}

export interface RetryOptions {
  attempts: number;
  /** First delay in ms; doubles each time up to `maxDelayMs`, with full jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Told about every failed attempt that will be retried. */
  onRetry?: (e: unknown, attempt: number, delayMs: number) => void;
}

export const DEFAULT_RETRY: RetryOptions = { attempts: 8, baseDelayMs: 250, maxDelayMs: 20_000 };

/** Runs `fn` until it succeeds, a non-retryable error, or `attempts` tries. */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, o: RetryOptions = DEFAULT_RETRY): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (attempt >= o.attempts || !isRetryable(e)) {
        if (e instanceof RetryableError) throw new CliError(`${e.message} (gave up after ${attempt} attempts)`, e.finalCode);
        throw e;
      }
      const delay = Math.random() * Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** (attempt - 1));
      o.onRetry?.(e, attempt, delay);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/** Turns SDK and system errors into one clear line and an exit code. */
export function describeError(e: unknown, ctx: { vault?: string; endpoint?: string; profile?: string }): { message: string; code: number } {
  if (e instanceof CliError) return { message: e.message, code: e.code };
  const err = e as SdkError;
  const name = err?.name ?? 'Error';
  const msg = err?.message ?? String(e);
  if (name === 'ResourceNotFoundException') {
    const what = /vault not found/i.test(msg) && ctx.vault ? `vault "${ctx.vault}" does not exist` : 'not found';
    return { message: `${what} (ResourceNotFoundException: ${msg})`, code: EXIT.notFound };
  }
  if (
    name === 'CredentialsProviderError' ||
    /could not load credentials|credential is missing|Resolved credential object is not valid/i.test(msg)
  ) {
    const where = ctx.profile
      ? `profile "${ctx.profile}" has none in ${process.env.AWS_SHARED_CREDENTIALS_FILE ?? '~/.aws/credentials'} or ${process.env.AWS_CONFIG_FILE ?? '~/.aws/config'}`
      : 'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or use --profile with ~/.aws/credentials';
    return {
      message: `no AWS credentials found: ${where} (${msg})`,
      code: EXIT.auth,
    };
  }
  if (['InvalidSignatureException', 'UnrecognizedClientException', 'MissingAuthenticationTokenException', 'AccessDeniedException', 'ExpiredTokenException', 'SignatureDoesNotMatch'].includes(name)) {
    return { message: `the server refused the credentials (${name}: ${msg})`, code: EXIT.auth };
  }
  if (/Region is missing/i.test(msg)) {
    return { message: 'no region: pass --region, set AWS_REGION or AWS_DEFAULT_REGION, or set one in the profile', code: EXIT.usage };
  }
  if (err?.code === 'ECONNREFUSED' || /ECONNREFUSED/.test(msg)) {
    return { message: `cannot connect to ${ctx.endpoint ?? 'the endpoint'} (connection refused)`, code: EXIT.failed };
  }
  const status = err?.$metadata?.httpStatusCode;
  return { message: `${name}${status ? ` (HTTP ${status})` : ''}: ${msg}`, code: EXIT.failed };
}

/** Every item of a Marker-paginated List operation, each page fetched with retries. */
export async function listAll<T>(fetch: (marker: string | undefined) => Promise<{ items?: T[]; marker?: string }>): Promise<T[]> {
  const out: T[] = [];
  let marker: string | undefined;
  do {
    const page = await withRetry(() => fetch(marker));
    out.push(...(page.items ?? []));
    marker = page.marker ?? undefined;
  } while (marker);
  return out;
}

/** Runs `fn` in a pool of `n` workers pulling from `items` in order; stops at the first error. */
export async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown = null;
  const worker = async () => {
    while (failed === null && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (e) {
        if (failed === null) failed = e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  if (failed !== null) throw failed;
}

/** Wraps a command action: errors become one line on stderr and a documented exit code. */
export function runAction<A extends unknown[]>(label: string, fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    process.once('SIGINT', () => {
      const hint = label === 'inventory' ? '' : '; run the same command again to resume';
      process.stderr.write(`\nfirn ${label}: interrupted${hint}\n`);
      process.exit(EXIT.interrupted);
    });
    try {
      await fn(...args);
    } catch (e) {
      const opts = args.find((a) => a && typeof a === 'object' && !(a instanceof Command)) as { vault?: string; endpointUrl?: string; profile?: string } | undefined;
      const { message, code } = describeError(e, { vault: opts?.vault, endpoint: opts?.endpointUrl, profile: opts?.profile });
      process.stderr.write(`firn ${label}: ${message}\n`);
      if (process.env.FIRN_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
      process.exit(code);
    }
  };
}

/** Usage errors from commander exit with EXIT.usage rather than commander's 1. */
export function usageExit(cmd: Command): Command {
  return cmd.exitOverride((err) => {
    process.exit(err.exitCode === 0 ? 0 : EXIT.usage);
  });
}

export function requiredOption(flags: string, description: string): Option {
  return new Option(flags, description).makeOptionMandatory();
}

/** Printed as the last line of stdout. */
export function printResult(obj: unknown): void {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
