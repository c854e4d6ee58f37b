import { Errors } from '../../domain/errors.js';

/** DG tagging.md: at most 50 tags per vault; 1–10 entries per AddTags/RemoveTags request. */
export const MAX_TAGS_PER_VAULT = 50;
export const MAX_TAGS_PER_REQUEST = 10;
/** Letters, digits, spaces and `_ . / = + - @`, in any script. */
const TAG_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

export function validateTagKey(k: string): void {
  const len = [...k].length;
  if (len < 1 || len > 128) throw Errors.invalidParameter(`Tag key must be 1 to 128 characters long: ${JSON.stringify(k)}`);
  if (k.toLowerCase().startsWith('aws:')) throw Errors.invalidParameter(`Tag keys may not start with the reserved prefix "aws:": ${k}`);
  if (!TAG_CHARS.test(k)) {
    throw Errors.invalidParameter(`Tag key contains characters that are not allowed (letters, digits, spaces and _ . / = + - @): ${JSON.stringify(k)}`);
  }
}

export function validateTagValue(k: string, v: unknown): string {
  if (typeof v !== 'string') throw Errors.invalidParameter(`Tag value for key ${JSON.stringify(k)} must be a string`);
  if ([...v].length > 255) throw Errors.invalidParameter(`Tag value for key ${JSON.stringify(k)} must be at most 255 characters long`);
  if (!TAG_CHARS.test(v)) {
    throw Errors.invalidParameter(`Tag value for key ${JSON.stringify(k)} contains characters that are not allowed (letters, digits, spaces and _ . / = + - @)`);
  }
  return v;
}
