import { Errors } from '../domain/errors.js';
import type { Caller } from '../operations/types.js';

export interface AuthzRequest {
  caller: Caller;
  /** `glacier:<OperationName>` */
  action: string;
  /** The vault ARN for vault operations; the account-level ARN otherwise. */
  resource: string;
  /** The account that owns the resource. */
  resourceAccountId: string;
  /** Extra condition keys known at the call site, e.g. glacier:ArchiveAgeInDays. */
  conditions?: Record<string, string | string[]>;
  now: number;
}

/**
 * The authorization seam. Every request passes through `authorize` before its handler runs
 * (handlers that need context, e.g. an archive's age, call it again with extra conditions).
 */
export interface Authorizer {
  authorize(req: AuthzRequest): Promise<void>;
}

export function callerArn(c: Caller): string {
  return c.userName === null ? `arn:aws:iam::${c.accountId}:root` : `arn:aws:iam::${c.accountId}:user/${c.userName}`;
}

export function denied(req: AuthzRequest): Error {
  return Errors.accessDenied(`User: ${callerArn(req.caller)} is not authorized to perform: ${req.action} on resource: ${req.resource}`);
}

/** Same-account requests are allowed; any other account is refused (no policies evaluated). */
export class AccountBoundaryAuthorizer implements Authorizer {
  async authorize(req: AuthzRequest): Promise<void> {
    if (req.caller.accountId !== req.resourceAccountId) throw denied(req);
  }
}
