import { randomPooled } from '../../domain/ids.js';

/** Every store's key: 'b' (plain) or 'm' (manifest), then 32 hex digits (see newBlobKey). */
export const KEY_RE = /^[bm][0-9a-f]{32}$/;

/**
 * 'b' or 'm', 12 hex digits of milliseconds (time-ordered, so the metadata B-tree takes inserts at
 * its end), 20 random hex digits (the fs store shards on the last two).
 */
export function newBlobKey(kind: 'blob' | 'manifest'): string {
  return (kind === 'manifest' ? 'm' : 'b') + Date.now().toString(16).padStart(12, '0').slice(-12) + randomPooled(10).toString('hex');
}

/** A missing blob, reported like the fs store's (callers test `code === 'ENOENT'`, e.g. BlobLeaseLostError). */
export function missingBlob(message: string, cause?: unknown): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(message, cause === undefined ? undefined : { cause });
  e.code = 'ENOENT';
  return e;
}
