import { Errors } from '../../domain/errors.js';
import { ctxVaultArn, requireVault } from '../common.js';
import type { Handler } from '../types.js';

/**
 * DELETE …/lock-policy → 204. Removes an InProgress lock; idempotent when there is none. A
 * Locked policy cannot be removed by anyone: AccessDeniedException (DG vault-lock).
 */
export const AbortVaultLock: Handler = async (ctx, input) => {
  const v = await requireVault(ctx, input);
  const r = await ctx.app.store.locks.abort(v.id, ctx.now);
  if (r === 'locked') throw Errors.accessDenied(`The vault lock policy is locked and cannot be aborted: ${ctxVaultArn(ctx, v.name)}`);
  if (r === 'aborted') ctx.app.log.info({ account: ctx.accountId, vault: v.name }, 'vault lock aborted');
  return { status: 204 };
};
