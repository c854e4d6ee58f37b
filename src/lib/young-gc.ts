import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * A young-generation collection after every COLLECT_EVERY bytes streamed through this process.
 *
 * Streaming allocates a buffer for every socket read (and the S3 store copies every MiB it sends),
 * and V8 frees such buffers only when a collection finds them dead. Its own triggers let tens of
 * MB of dead buffers wait in the young generation and more in the old one (promoted after two
 * survived collections), on top of a node's working set: a 4 GiB multipart upload to the S3 store
 * peaked at 190–241 MB RSS. Collecting the young generation every 8 MiB frees the buffers before
 * they are promoted. It costs less than it saves: a 256 MiB upload in-process spent 64–90 ms in
 * 32 such collections and none in full ones, against 74–132 ms in ≈ 20 full collections without
 * them (docs/architecture.md, "Memory while streaming").
 */
const COLLECT_EVERY = 8 * 1024 * 1024;

// V8's `gc` function, taken without exposing it to the rest of the process (`expose-gc`
// package's technique): the flag is only on while a new context is made.
// Without it (a runtime that refuses the flag) streaming works as before, only with higher peaks.
const gc = ((): ((opts: { type: 'minor' | 'major' }) => void) | null => {
  if (typeof globalThis.gc === 'function') return globalThis.gc as (opts: { type: 'minor' | 'major' }) => void;
  try {
    setFlagsFromString('--expose-gc');
    const fn: unknown = runInNewContext('gc');
    return typeof fn === 'function' ? (fn as (opts: { type: 'minor' | 'major' }) => void) : null;
  } catch {
    return null;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
})();

let sinceCollection = 0;

/** Counts `n` bytes streamed (received or sent); collects the young generation every COLLECT_EVERY. */
export function streamed(n: number): void {
  sinceCollection += n;
  if (sinceCollection < COLLECT_EVERY) return;
  sinceCollection = 0;
  gc?.({ type: 'minor' });
}
