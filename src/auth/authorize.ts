import { Errors, withReason } from '../domain/errors.js';
import { parseVaultArn } from '../domain/arn.js';
import type { Caller } from '../operations/types.js';
import type { MetadataStore, VaultRecord } from '../storage/metadata/types.js';
import type { Logger } from '../lib/logger.js';
import { evaluatePolicy, parsePolicy, type ContextLookup, type EvalRequest, type Policy, type PolicyResult } from './policy.js';

export interface AuthzRequest {
  caller: Caller;
  /** `glacier:<OperationName>` */
  action: string;
  /** The vault ARN for vault operations; the account-level ARN otherwise (src/auth/resources.ts). */
  resource: string;
  /** The account that owns the resource. */
  resourceAccountId: string;
  /** Extra condition keys known at the call site, e.g. glacier:ArchiveAgeInDays. */
  conditions?: Record<string, string | string[]>;
  now: number;
  /**
   * The vault `resource` names, as the caller just read it (null: no such vault), so that it is
   * not read twice in one request; absent, the authorizer reads it. Only the vault's identity is
   * taken from it: its policies and lock are read fresh on every request.
   */
  vault?: VaultRecord | null;
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

/** The 403 AWS answers; `reason` (access log only) says which rule refused it. */
export function denied(req: AuthzRequest, explicit = false, reason?: string): Error {
  const e = Errors.accessDenied(
    `User: ${callerArn(req.caller)} is not authorized to perform: ${req.action} on resource: ${req.resource}` + (explicit ? ' with an explicit deny' : ''),
  );
  return reason === undefined ? e : withReason(e, reason);
}

/** Same-account requests are allowed; any other account is refused (no policies evaluated). */
export class AccountBoundaryAuthorizer implements Authorizer {
  async authorize(req: AuthzRequest): Promise<void> {
    if (req.caller.accountId !== req.resourceAccountId) throw denied(req, false, 'cross-account request');
  }
}

/**
 * AWS's evaluation logic (IAM User Guide, "Policy evaluation logic"), over three kinds of policy:
 * - identity policies: the inline policies attached to the calling IAM user. An account's root
 *   has no identity policies and is implicitly allowed everything in its own account (and, for a
 *   cross-account request, on its own side of the trust).
 * - the vault access policy (a resource policy).
 * - the vault lock policy, InProgress or Locked, evaluated like a vault access policy (DG vault-lock:
 *   "It is evaluated during InProgress too, so that users can test it").
 *
 * 1. An explicit Deny in any applicable policy wins: nobody, the vault's own root included,
 *    gets past a deny in the vault access or lock policy.
 * 2. Same account: an Allow in an identity policy, or in a resource policy naming the caller
 *    (its user ARN or "*"), suffices. A resource policy naming only the account delegates to the
 *    account's identity policies, as in IAM.
 * 3. Cross account: the caller's side (identity policy; implicit for a root) AND the resource
 *    policy must both allow.
 * Anything else is an implicit deny. Every refusal is 403 AccessDeniedException.
 */
export class PolicyAuthorizer implements Authorizer {
  readonly #store: MetadataStore;
  readonly #log: Logger | undefined;
  /** Parsed policies by text: stored policies are re-read per request but parsed once. */
  readonly #cache = new Map<string, Policy | null>();

  constructor(store: MetadataStore, log?: Logger) {
    this.#store = store;
    this.#log = log;
  }

  #parse(text: string, kind: 'identity' | 'resource'): Policy | null {
    const k = kind + '\u0000' + text;
    let p = this.#cache.get(k);
    if (p === undefined) {
      try {
        p = parsePolicy(text, kind);
      } catch {
        // Only policies written before validation existed can fail here; they grant nothing.
        p = null;
      }
      if (this.#cache.size >= 1000) this.#cache.delete(this.#cache.keys().next().value!);
      this.#cache.set(k, p);
    }
    return p;
  }

  async authorize(req: AuthzRequest): Promise<void> {
    const { caller } = req;
    const isRoot = caller.userName === null;
    const sameAccount = caller.accountId === req.resourceAccountId;

    const identity: Policy[] = [];
    if (!isRoot) {
      for (const p of await this.#store.accounts.listUserPolicies(caller.accountId, caller.userName!)) {
        const parsed = this.#parse(p.document, 'identity');
        if (parsed) identity.push(parsed);
      }
    }

    const resource: Policy[] = [];
    const resourceKinds: string[] = [];
    let vault: VaultRecord | null = null;
    const va = parseVaultArn(req.resource);
    if (va) {
      const given = req.vault;
      vault =
        given !== undefined && (given === null || (given.accountId === va.accountId && given.region === va.region && given.name === va.vaultName))
          ? given
          : await this.#store.vaults.get({ accountId: va.accountId, region: va.region, name: va.vaultName });
      if (vault) {
        // Two independent reads: on PostgreSQL they go out together on two pooled connections.
        const [access, lock] = await Promise.all([this.#store.vaults.getAccessPolicy(vault.id), this.#store.locks.get(vault.id, req.now)]);
        if (access !== null) {
          const p = this.#parse(access, 'resource');
          if (p) {
            resource.push(p);
            resourceKinds.push('vault access policy');
          }
        }
        if (lock) {
          const p = this.#parse(lock.policy, 'resource');
          if (p) {
            resource.push(p);
            resourceKinds.push(`vault lock policy (${lock.state})`);
          }
        }
      }
    }

    // No policy at all (an account root on a vault without access or lock policy, the common
    // case): nothing to evaluate, so neither the tags nor the condition context are needed.
    if (identity.length === 0 && resource.length === 0) {
      if (isRoot && sameAccount) return;
      throw denied(req, false, sameAccount ? 'no policy allows it' : "cross-account: needs an allow in both the caller's identity policy and the vault access policy");
    }
    // Tags are only read when a policy could test them (aws:ResourceTag/…).
    const tags = vault ? await this.#store.vaults.getTags(vault.id) : null;
    const ev: EvalRequest = { action: req.action, resource: req.resource, caller, context: requestContext(req, tags) };
    const idResults = identity.map((p) => evaluatePolicy(p, ev));
    const resResults = resource.map((p) => evaluatePolicy(p, ev));
    const denies = [...idResults.map((r) => ['identity policy', r] as const), ...resResults.map((r, i) => [resourceKinds[i]!, r] as const)];
    const deny = denies.find(([, r]) => r.deny);
    if (deny) throw denied(req, true, `explicit deny in ${deny[0]}, statement ${deny[1].denyBy}`);
    const identityAllows = isRoot || idResults.some((r) => r.allowDirect);
    const any = (f: (r: PolicyResult) => boolean) => resResults.some(f);
    const allowed = sameAccount
      ? identityAllows || any((r) => r.allowDirect)
      : identityAllows && any((r) => r.allowDirect || r.allowViaAccount);
    if (!allowed) {
      throw denied(req, false, sameAccount ? 'no policy allows it' : 'cross-account: needs an allow in both the caller\'s identity policy and the vault access policy');
    }
  }
}

/**
 * The request context: the condition keys a policy can test. Keys are looked up lower-cased
 * (condition key names are case-insensitive); values are strings, as IAM passes them.
 */
export function requestContext(req: AuthzRequest, tags: Record<string, string> | null): ContextLookup {
  const { caller } = req;
  const base = new Map<string, string[]>();
  const ip = caller.sourceIp.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1');
  if (ip) base.set('aws:sourceip', [ip]);
  base.set('aws:securetransport', [String(caller.secureTransport)]);
  base.set('aws:currenttime', [new Date(req.now).toISOString().replace(/\.\d{3}Z$/, 'Z')]);
  base.set('aws:epochtime', [String(Math.floor(req.now / 1000))]);
  base.set('aws:principalaccount', [caller.accountId]);
  base.set('aws:principalarn', [callerArn(caller)]);
  base.set('aws:principaltype', [caller.userName === null ? 'Account' : 'User']);
  base.set('aws:userid', [caller.userName === null ? caller.accountId : caller.accessKeyId]);
  if (caller.userName !== null) base.set('aws:username', [caller.userName]);
  // aws:MultiFactorAuthPresent is absent, as for any AWS request signed with long-term keys.
  for (const [k, v] of Object.entries(req.conditions ?? {})) base.set(k.toLowerCase(), Array.isArray(v) ? v : [v]);
  const tagMap = new Map<string, string>();
  for (const [k, v] of Object.entries(tags ?? {})) tagMap.set(k.toLowerCase(), v);
  return (key: string) => {
    const k = key.toLowerCase();
    const direct = base.get(k);
    if (direct) return direct;
    for (const prefix of ['glacier:resourcetag/', 'aws:resourcetag/']) {
      if (k.startsWith(prefix)) {
        const v = tagMap.get(k.slice(prefix.length));
        return v === undefined ? undefined : [v];
      }
    }
    return undefined;
  };
}
