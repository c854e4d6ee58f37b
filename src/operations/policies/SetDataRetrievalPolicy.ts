import { Errors } from '../../domain/errors.js';
import type { DataRetrievalPolicyRecord, RetrievalStrategy } from '../../storage/metadata/types.js';
import { bodyObject } from '../common.js';
import type { Handler } from '../types.js';

export const RETRIEVAL_STRATEGIES: readonly RetrievalStrategy[] = ['None', 'FreeTier', 'BytesPerHour'];
/** DG api-SetDataRetrievalPolicy: BytesPerHour is "Valid Values: Minimum value of 1. Maximum value of 2^63-1". */
const MAX_BYTES_PER_HOUR = 2n ** 63n - 1n;

/**
 * Validates the `Policy` member: "currently there must be only one rule, which contains a Strategy
 * field and optionally a BytesPerHour field", and BytesPerHour "is required only if the value of
 * the Strategy field is BytesPerHour. Your PUT operation will be rejected if the Strategy field is
 * not set to BytesPerHour and you set this field."
 */
export function parseRetrievalPolicy(policy: unknown): DataRetrievalPolicyRecord {
  if (policy === undefined || policy === null) throw Errors.missingParameter('Required parameter Policy is missing');
  if (typeof policy !== 'object' || Array.isArray(policy)) throw Errors.invalidParameter('Policy must be an object with a Rules list');
  const rules = (policy as Record<string, unknown>).Rules;
  if (rules === undefined || rules === null) throw Errors.missingParameter('Required parameter Policy.Rules is missing');
  if (!Array.isArray(rules)) throw Errors.invalidParameter('Policy.Rules must be a list');
  if (rules.length !== 1) throw Errors.invalidParameter(`The data retrieval policy must contain exactly one rule; ${rules.length} were given`);
  const rule = rules[0] as unknown;
  if (typeof rule !== 'object' || rule === null || Array.isArray(rule)) throw Errors.invalidParameter('A data retrieval rule must be an object');
  const { Strategy: strategy, BytesPerHour: bph } = rule as Record<string, unknown>;
  if (strategy === undefined || strategy === null) throw Errors.missingParameter('Required parameter Strategy is missing');
  if (typeof strategy !== 'string' || !(RETRIEVAL_STRATEGIES as readonly string[]).includes(strategy)) {
    throw Errors.invalidParameter(`Invalid data retrieval strategy: ${String(strategy)}. Valid values are BytesPerHour, FreeTier and None`);
  }
  const hasBph = bph !== undefined && bph !== null;
  if (strategy !== 'BytesPerHour') {
    if (hasBph) throw Errors.invalidParameter(`BytesPerHour can only be set with the BytesPerHour strategy, not with ${strategy}`);
    return { strategy: strategy as RetrievalStrategy, bytesPerHour: null };
  }
  if (!hasBph) throw Errors.missingParameter('BytesPerHour is required when the strategy is BytesPerHour');
  // The body is parsed losslessly: an integer beyond 2^53 arrives as an exact bigint. A double that
  // is not a safe integer (1e19, 2.5) is refused rather than rounded.
  const n = typeof bph === 'bigint' ? bph : typeof bph === 'number' && Number.isSafeInteger(bph) ? BigInt(bph) : null;
  if (n === null || n < 1n || n > MAX_BYTES_PER_HOUR) {
    throw Errors.invalidParameter(`Invalid BytesPerHour: ${typeof bph === 'bigint' ? bph : JSON.stringify(bph)}. It must be an integer from 1 to ${MAX_BYTES_PER_HOUR}`);
  }
  return { strategy: 'BytesPerHour', bytesPerHour: n };
}

/** PUT /{a}/policies/data-retrieval, body `{"Policy":{"Rules":[{"Strategy","BytesPerHour"}]}}` → 204. */
export const SetDataRetrievalPolicy: Handler = async (ctx, input) => {
  const policy = parseRetrievalPolicy(bodyObject(input).Policy);
  // One policy per account and region; admission reads it for every later InitiateJob, while
  // jobs already admitted are left alone ("does not affect retrieval jobs that were in progress").
  await ctx.app.store.settings.setRetrievalPolicy(ctx.accountId, ctx.region, policy, ctx.now);
  return { status: 204 };
};
