import { Errors } from '../../domain/errors.js';
import { archiveIdVault } from '../../domain/archive-id.js';
import { ctxVaultArn, requireVault } from '../common.js';
import type { Handler } from '../types.js';

const DAY_MS = 86_400_000;

/**
 * DELETE /{a}/vaults/{v}/archives/{archiveId} → 204. Idempotent: an archive of this vault that is
 * already deleted answers 204 again.
 */
export const DeleteArchive: Handler = async (ctx, input) => {
  const vault = await requireVault(ctx, input);
  const archiveId = input.params.archiveId!;
  const arn = ctxVaultArn(ctx, vault.name);
  const owner = archiveIdVault(archiveId);
  if (owner === null) throw Errors.invalidParameter(`Invalid archive ID: ${archiveId}`);
  // DG api-archive-delete: an archive id of a different vault is refused with the vault's ARN (mt-aws-glacier#32).
  if (owner !== vault.id) throw Errors.invalidParameter(`Invalid vault name: ${arn}`);
  const archive = await ctx.app.store.archives.get(vault.id, archiveId);
  if (archive) {
    // The vault-lock case: "deny DeleteArchive for archives younger than N days".
    await ctx.app.authorizer.authorize({
      caller: ctx.caller,
      action: 'glacier:DeleteArchive',
      resource: arn,
      resourceAccountId: ctx.accountId,
      conditions: { 'glacier:ArchiveAgeInDays': String(Math.floor((ctx.now - archive.createdAt) / DAY_MS)) },
      now: ctx.now,
    });
  }
  // Dated when it commits, not when the request arrived: an inventory taken meanwhile must not
  // predate the deletion it misses.
  const r = await ctx.app.store.archives.delete(vault.id, archiveId, ctx.app.clock.now());
  if (r === 'not-found') throw Errors.resourceNotFound(`Archive not found for ID: ${archiveId}`);
  if (r === 'deleted') ctx.app.blobMaintenance.kick();
  return { status: 204 };
};
