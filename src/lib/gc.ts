import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Collections that V8's own heuristics leave too late for a server's resident memory: garbage
 * that waits is memory the process keeps (docs/architecture.md, "Memory while streaming").
 *
 * 1. `streamed`: a young-generation collection every 8 MiB streamed.
 * 2. `watchOldGeneration`: a full collection once the old generation holds 16 MiB more than after
 *    the last one.
 */

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
type GcFunction = (opts?: { type: 'minor' }) => void;
const gc = ((): GcFunction | null => {
  if (typeof globalThis.gc === 'function') return globalThis.gc as GcFunction;
  try {
    setFlagsFromString('--expose-gc');
    const fn: unknown = runInNewContext('gc');
    return typeof fn === 'function' ? (fn as GcFunction) : null;
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

/**
 * A full collection whenever the old generation has grown by OLD_GROWTH (or by half of what the
 * last one left, if more) since the last one, checked every CHECK_MS. Objects that outlive two young collections (requests in flight, query
 * results, promises of a busy moment) are promoted and then wait for V8's next full collection,
 * which it schedules from the heap's limit, not from what the process holds: after 8 in-flight
 * InitiateJobs for 4 s, a node's old generation held 46 MB for 20 MB live, kept while the node
 * idled and under every transfer that followed. A full collection of such a heap takes ≈ 10–20 ms;
 * at most one per OLD_GROWTH of promoted garbage. A collection costs in proportion to what is
 * live, so a process with a large live heap waits for it to grow by half before collecting again.
 */
const OLD_GROWTH = 16 * 1024 * 1024;
const CHECK_MS = 1000;

let watchers = 0;
let timer: NodeJS.Timeout | null = null;
let baseline = 0;

function oldUsed(): number {
  let used = 0;
  for (const s of getHeapSpaceStatistics()) if (s.space_name === 'old_space') used += s.space_used_size;
  return used;
}

/** One check: collects if the old generation grew enough. Returns whether it collected. */
export function checkOldGeneration(): boolean {
  const used = oldUsed();
  // V8 collected by itself meanwhile: measure growth from there.
  if (used < baseline) baseline = used;
  if (!gc || used - baseline < Math.max(OLD_GROWTH, baseline / 2)) return false;
  // Without options: on Node 20, `{ type: 'major' }` left the old generation's garbage in place.
  gc();
  baseline = oldUsed();
  return true;
}

/** Starts the periodic check for this process (one timer however many servers); returns its stop. */
export function watchOldGeneration(): () => void {
  if (watchers++ === 0) {
    baseline = oldUsed();
    timer = setInterval(checkOldGeneration, CHECK_MS).unref();
  }
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    if (--watchers === 0 && timer) {
      clearInterval(timer);
      timer = null;
    }
  };
}
