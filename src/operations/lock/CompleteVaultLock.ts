import { Errors } from '../../domain/errors.js';
import { ctxVaultArn, requireVault } from '../common.js';
import type { Handler } from '../types.js';

/**
 * POST …/lock-policy/{lockId} → 204: InProgress → Locked, after which the lock policy is
 * immutable. "This operation is idempotent … always successful if the vault lock is in the
 * Locked state and the provided lock ID matches. If an invalid lock ID is passed … in the Locked
 * state, the operation returns an AccessDeniedException error. If an invalid lock ID is passed
 * … in the InProgress state, the operation throws an InvalidParameter error." (API reference)
 */
export const CompleteVaultLock: Handler = async (ctx, input) => {
  const v = await requireVault(ctx, input);
  const lockId = input.params.lockId!;
  const arn = ctxVaultArn(ctx, v.name);
  const r = await ctx.app.store.locks.complete(v.id, lockId, ctx.now);
  switch (r) {
    case 'locked':
      ctx.app.log.info({ account: ctx.accountId, vault: v.name, lockId }, 'vault locked');
      return { status: 204 };
    case 'already-locked':
      return { status: 204 };
    case 'wrong-id-locked':
      throw Errors.accessDenied(`The lock ID does not match the lock of the locked vault: ${arn}`);
    case 'wrong-id-in-progress':
      throw Errors.invalidParameter(`Invalid lock ID: ${lockId}`);
    case 'none':
      // No lock in progress (never initiated, aborted, or expired after 24 h): the id names nothing.
      throw Errors.invalidParameter(`No vault lock is in progress for ${arn}; the lock ID ${lockId} is not valid (a lock ID expires 24 hours after InitiateVaultLock)`);
  }
};
