import { Errors } from '../../domain/errors.js';
import { shortId } from '../../domain/ids.js';
import { validatePolicy } from '../../auth/policy.js';
import { bodyObject, ctxVaultArn, requireVault } from '../common.js';
import { readPolicyBody } from '../vaults/SetVaultAccessPolicy.js';
import type { Handler } from '../types.js';

/** "The lock expires 24 h later: the policy is removed and the state cleared" (DG vault-lock). */
export const LOCK_IN_PROGRESS_MS = 24 * 60 * 60 * 1000;

/**
 * POST …/lock-policy, body `{"Policy":"<json>"}` → 201 with `x-amz-lock-id` (24 characters; the
 * header only: SDKs read the id from it). Installs the policy InProgress. While a lock is
 * InProgress, or once Locked, a new one is refused with AccessDeniedException (DG vault-lock).
 */
export const InitiateVaultLock: Handler = async (ctx, input) => {
  const v = await requireVault(ctx, input);
  const policy = readPolicyBody(bodyObject(input));
  validatePolicy(policy, 'resource');
  const lockId = shortId();
  const r = await ctx.app.store.locks.initiate(
    { vaultId: v.id, lockId, policy, state: 'InProgress', createdAt: ctx.now, expiresAt: ctx.now + LOCK_IN_PROGRESS_MS },
    ctx.now,
  );
  if (!r.ok) {
    throw Errors.accessDenied(
      r.state === 'Locked'
        ? `The vault lock policy is locked and cannot be changed: ${ctxVaultArn(ctx, v.name)}`
        : `A vault lock is already in progress for ${ctxVaultArn(ctx, v.name)}; complete or abort it first`,
    );
  }
  ctx.app.log.info({ account: ctx.accountId, vault: v.name, lockId }, 'vault lock initiated');
  return { status: 201, headers: { 'x-amz-lock-id': lockId } };
};
