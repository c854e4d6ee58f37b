import { randomBytes } from 'node:crypto';
import { SORTABLE_ALPHABET } from '../domain/ids.js';

/**
 * Request ids (47 characters of `[A-Za-z0-9_-]`, like AWS's) drawn from a pool of random bytes
 * refilled 128 ids at a time: one randomBytes call per request cost more than the rest of the id.
 */
const LENGTH = 47;
let pool = Buffer.alloc(0);
let pos = 0;

export function newRequestId(): string {
  if (pos + LENGTH > pool.length) {
    pool = randomBytes(LENGTH * 128);
    pos = 0;
  }
  let out = '';
  for (let i = 0; i < LENGTH; i++) out += SORTABLE_ALPHABET[pool[pos + i]! & 63]!;
  pos += LENGTH;
  return out;
}
