import { Errors } from '../../domain/errors.js';
import { isoMs } from '../../lib/clock.js';
import { ctxVaultArn, requireVault } from '../common.js';
import type { Handler } from '../types.js';

/**
 * GET …/lock-policy → `{"Policy","State","ExpirationDate","CreationDate"}` (the DG example's
 * order). ExpirationDate is null once Locked. 404 when there is no lock, including after an
 * abort or an expiry (DG vault-lock: never an invented "Unlocked" state).
 */
export const GetVaultLock: Handler = async (ctx, input) => {
  const v = await requireVault(ctx, input);
  const lock = await ctx.app.store.locks.get(v.id, ctx.now);
  if (!lock) throw Errors.resourceNotFound(`No vault lock policy found for: ${ctxVaultArn(ctx, v.name)}`);
  return {
    status: 200,
    json: {
      Policy: lock.policy,
      State: lock.state,
      ExpirationDate: lock.expiresAt === null ? null : isoMs(lock.expiresAt),
      CreationDate: isoMs(lock.createdAt),
    },
  };
};
