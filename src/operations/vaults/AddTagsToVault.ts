import { Errors } from '../../domain/errors.js';
import { bodyObject, requireVault } from '../common.js';
import type { Handler } from '../types.js';
import { MAX_TAGS_PER_REQUEST, MAX_TAGS_PER_VAULT, validateTagKey, validateTagValue } from './tags.js';

/** POST /{a}/vaults/{v}/tags?operation=add, body `{"Tags":{k:v}}` → 204. Existing keys are overwritten. */
export const AddTagsToVault: Handler = async (ctx, input) => {
  const v = await requireVault(ctx, input);
  const body = bodyObject(input);
  const tags = body.Tags;
  if (tags === undefined || tags === null) throw Errors.missingParameter('Required parameter Tags is missing');
  if (typeof tags !== 'object' || Array.isArray(tags)) throw Errors.invalidParameter('Tags must be a map of tag keys to values');
  const entries = Object.entries(tags as Record<string, unknown>);
  if (entries.length < 1 || entries.length > MAX_TAGS_PER_REQUEST) {
    throw Errors.invalidParameter(`Tags must contain 1 to ${MAX_TAGS_PER_REQUEST} entries per request; got ${entries.length}`);
  }
  const clean: Record<string, string> = {};
  for (const [k, val] of entries) {
    validateTagKey(k);
    clean[k] = validateTagValue(k, val);
  }
  if (!(await ctx.app.store.vaults.addTags(v.id, clean, MAX_TAGS_PER_VAULT))) {
    throw Errors.limitExceeded(`The number of tags on the vault would exceed the limit of ${MAX_TAGS_PER_VAULT}`);
  }
  return { status: 204 };
};
