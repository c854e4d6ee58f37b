import { Errors } from '../../domain/errors.js';
import { bodyObject, requireVault } from '../common.js';
import type { Handler } from '../types.js';
import { MAX_TAGS_PER_REQUEST } from './tags.js';

/** POST /{a}/vaults/{v}/tags?operation=remove, body `{"TagKeys":[..]}` → 204. Idempotent. */
export const RemoveTagsFromVault: Handler = async (ctx, input) => {
  const v = await requireVault(ctx, input);
  const body = bodyObject(input);
  const keys = body.TagKeys;
  if (keys === undefined || keys === null) throw Errors.missingParameter('Required parameter TagKeys is missing');
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) throw Errors.invalidParameter('TagKeys must be a list of strings');
  if (keys.length < 1 || keys.length > MAX_TAGS_PER_REQUEST) {
    throw Errors.invalidParameter(`TagKeys must contain 1 to ${MAX_TAGS_PER_REQUEST} entries per request; got ${keys.length}`);
  }
  await ctx.app.store.vaults.removeTags(v.id, keys as string[]);
  return { status: 204 };
};
