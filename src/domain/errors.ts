/**
 * Glacier errors know their wire form. The body is `{"code","message","type"}` with lowercase
 * keys (DG api-error-responses); the HTTP status comes from the DG error table.
 */
export type ErrorType = 'Client' | 'Server';

export class GlacierError extends Error {
  readonly code: string;
  readonly status: number;
  readonly type: ErrorType;
  readonly headers: Record<string, string>;
  /**
   * What an operator needs to know about a refusal that the client's message does not say (e.g.
   * that an access key exists but is disabled). Goes to the access log only, never to the client,
   * and never holds a secret.
   */
  reason?: string;

  constructor(code: string, status: number, message: string, type: ErrorType = 'Client', headers: Record<string, string> = {}) {
    super(message);
    this.name = code;
    this.code = code;
    this.status = status;
    this.type = type;
    this.headers = headers;
  }

  toJSON(): { code: string; message: string; type: ErrorType } {
    return { code: this.code, message: this.message, type: this.type };
  }
}

const err =
  (code: string, status: number, type: ErrorType = 'Client') =>
  (message: string) =>
    new GlacierError(code, status, message, type);

export const Errors = {
  accessDenied: err('AccessDeniedException', 403),
  badRequest: err('BadRequest', 400),
  expiredToken: err('ExpiredTokenException', 403),
  // The DG says 503 (Server); SDKs key on the body code. 503 also makes SDKs retry, as AWS intends.
  insufficientCapacity: err('InsufficientCapacityException', 503, 'Server'),
  invalidParameter: err('InvalidParameterValueException', 400),
  /** A request body over the server's limit: 413 Content Too Large (RFC 9110 §15.5.14). */
  payloadTooLarge: err('InvalidParameterValueException', 413),
  invalidSignature: err('InvalidSignatureException', 403),
  incompleteSignature: err('IncompleteSignatureException', 400),
  limitExceeded: err('LimitExceededException', 400),
  missingAuthToken: err('MissingAuthenticationTokenException', 400),
  missingParameter: err('MissingParameterValueException', 400),
  policyEnforced: err('PolicyEnforcedException', 400),
  requestTimeout: err('RequestTimeoutException', 408),
  resourceNotFound: err('ResourceNotFoundException', 404),
  serialization: err('SerializationException', 400),
  serviceUnavailable: err('ServiceUnavailableException', 500, 'Server'),
  /**
   * A write that outlived its storage lease (the process stalled longer than FIRN_LEASE, so its
   * unfinished blob was reclaimed): nothing was stored. 503 with type Server, which SDKs retry.
   */
  leaseLost: err('ServiceUnavailableException', 503, 'Server'),
  throttling: err('ThrottlingException', 400),
  unrecognizedClient: err('UnrecognizedClientException', 400),
  unknownOperation: err('UnknownOperationException', 404),
  methodNotAllowed: err('MethodNotAllowedException', 405),
  /**
   * The data directory's disk is full, or below the free-space reserve. 507 Insufficient Storage
   * (RFC 4918 §11.5): a Server error, but not one SDKs retry, since a retry cannot succeed until
   * space is freed.
   */
  storageFull: (message: string) => new GlacierError('ServiceUnavailableException', 507, message, 'Server'),
  /** Anything unexpected: the details go to the log, never to the client. */
  internal: () => new GlacierError('ServiceUnavailableException', 500, 'Internal server error', 'Server'),
} as const;

/** Attaches an operator-facing reason (access log only) and returns the error. */
export function withReason(e: GlacierError, reason: string): GlacierError {
  e.reason = reason;
  return e;
}

export function isGlacierError(e: unknown): e is GlacierError {
  return e instanceof GlacierError;
}
