import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { App } from '../app.js';
import type { OperationName } from '../http/routes.js';
import type { BodyChunk } from '../storage/verify.js';

/** Who signed the request. */
export interface Caller {
  accountId: string;
  /** null for the account root. */
  userName: string | null;
  accessKeyId: string;
  sourceIp: string;
  secureTransport: boolean;
}

export interface OpContext {
  readonly app: App;
  readonly op: OperationName;
  readonly requestId: string;
  /** The clock reading taken when the request arrived. */
  readonly now: number;
  readonly caller: Caller;
  /** The account the path addresses (`-` resolved to the caller's account). */
  readonly accountId: string;
  /** From the SigV4 credential scope; vaults are partitioned by account and region. */
  readonly region: string;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
}

export interface OpInput {
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  /** Parsed JSON body (non-streaming operations); undefined when the body was empty. */
  readonly body: unknown;
  /** Streaming operations only: the request body, not yet read. */
  readonly stream: Readable | null;
  /** Streaming operations only: the `x-amz-content-sha256` the client signed (to verify while streaming). */
  readonly contentSha256: string | null;
}

export interface OpResult {
  status: number;
  headers?: Record<string, string | number>;
  /** Serialised as compact JSON with Content-Type application/json. */
  json?: unknown;
  /** Streamed as the body with backpressure; destroyed if the client disconnects. */
  stream?: Readable;
  /**
   * Streamed as the body like `stream`, from pooled buffers: each chunk is released once the
   * socket has taken its bytes (or will never take them). A source that fails cuts the body short.
   */
  chunks?: AsyncIterable<BodyChunk>;
}

export type Handler = (ctx: OpContext, input: OpInput) => Promise<OpResult>;
