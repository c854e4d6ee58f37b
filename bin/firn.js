#!/usr/bin/env -S MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=262144 node --max-semi-space-size=8
// The CLI entry point; the TypeScript sources are compiled to dist/ by `npm install` (prepare).
// The first line bounds what a long-running server keeps (docs/operations.md, "Memory"): V8's
// young generation at 8 MB per semi-space, and glibc's malloc with two arenas that hands buffers
// of 256 KiB and more back to the system when they are freed. A node that had served every
// workload of the cluster bench kept 30–45 MB less with them, at the same throughput
// (bench/RESULTS.md). `node bin/firn.js` runs without them.
import('../dist/cli/main.js').then((m) => m.main(process.argv)).catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
