import { requireVault } from '../common.js';
import type { Handler } from '../types.js';

/** GET /{a}/vaults/{v}/tags → `{"Tags":{…}}`, an empty map when there are none. */
export const ListTagsForVault: Handler = async (ctx, input) => {
  const v = await requireVault(ctx, input);
  return { status: 200, json: { Tags: await ctx.app.store.vaults.getTags(v.id) } };
};
