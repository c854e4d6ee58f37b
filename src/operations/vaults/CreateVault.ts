import { Errors } from '../../domain/errors.js';
import { VAULT_NAME_RE } from '../common.js';
import type { Handler } from '../types.js';

/** PUT /{a}/vaults/{v} → 201 + Location. Idempotent: an existing vault answers 201 too. */
export const CreateVault: Handler = async (ctx, input) => {
  const name = input.params.vaultName!;
  if (!VAULT_NAME_RE.test(name)) {
    throw Errors.invalidParameter(
      `Invalid vault name: ${name}. Names can be 1 to 255 characters long; allowed characters are a-z, A-Z, 0-9, '_' (underscore), '-' (hyphen), and '.' (period).`,
    );
  }
  const r = await ctx.app.store.vaults.create(
    { accountId: ctx.accountId, region: ctx.region, name },
    ctx.now,
    ctx.app.config.maxVaultsPerAccount,
  );
  if ('limitExceeded' in r) {
    throw Errors.limitExceeded(`The maximum number of vaults (${ctx.app.config.maxVaultsPerAccount}) for this account in ${ctx.region} has been reached`);
  }
  if (r.created) ctx.app.log.info({ account: ctx.accountId, region: ctx.region, vault: name }, 'vault created');
  return { status: 201, headers: { Location: `/${ctx.accountId}/vaults/${name}` } };
};
