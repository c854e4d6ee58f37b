import { Errors } from '../../domain/errors.js';
import { validatePolicy } from '../../auth/policy.js';
import { bodyObject, requireVault } from '../common.js';
import type { Handler } from '../types.js';

/** One policy per vault, at most 20 KB (DG vault-access-policy). */
export const MAX_POLICY_BYTES = 20 * 1024;

/**
 * Checks the `{"Policy":"<json>"}` body: a string holding a JSON object of at most 20 KB.
 * Returns the policy text as given (stored byte-exact).
 */
export function readPolicyBody(body: Record<string, unknown>): string {
  const p = body.Policy;
  if (p === undefined || p === null) throw Errors.missingParameter('Required parameter Policy is missing');
  if (typeof p !== 'string') throw Errors.invalidParameter('Policy must be a string holding the policy document as JSON');
  if (Buffer.byteLength(p, 'utf8') > MAX_POLICY_BYTES) {
    throw Errors.invalidParameter(`Policy is too large: ${Buffer.byteLength(p, 'utf8')} bytes; the limit is ${MAX_POLICY_BYTES} bytes`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(p);
  } catch (e) {
    throw Errors.invalidParameter(`Policy is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw Errors.invalidParameter('Policy must be a JSON object');
  return p;
}

/** PUT …/access-policy, body `{"Policy":"<json string>"}` → 204. Overwrites. */
export const SetVaultAccessPolicy: Handler = async (ctx, input) => {
  const v = await requireVault(ctx, input);
  const policy = readPolicyBody(bodyObject(input));
  // A malformed policy is refused here, with what is wrong, rather than misread at enforcement.
  validatePolicy(policy, 'resource');
  await ctx.app.store.vaults.setAccessPolicy(v.id, policy);
  return { status: 204 };
};
