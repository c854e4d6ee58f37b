#!/bin/sh
':' //; # The lines starting with ':' // are POSIX shell (comments in JavaScript): they start node
':' //; # with settings that bound what a long-running server keeps (docs/operations.md, "Memory"),
':' //; # each one only where the environment does not set it already: V8's young generation at 8 MB
':' //; # per semi-space, and glibc's malloc with two arenas, handing buffers of 256 KiB and more
':' //; # back to the system when freed. A node that had served every workload of the cluster bench
':' //; # kept 30–45 MB less with them, at the same throughput (bench/RESULTS.md). Plain `sh`, not
':' //; # `env -S`: BusyBox's env (Alpine) has no -S. `node bin/firn.js` runs without them.
':' //; case " ${NODE_OPTIONS-} " in *" --max-semi-space-size"*) ;; *) NODE_OPTIONS="--max-semi-space-size=8${NODE_OPTIONS:+ $NODE_OPTIONS}"; export NODE_OPTIONS ;; esac
':' //; export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}" MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-262144}"
':' //; exec node "$0" "$@"
// The CLI entry point; the TypeScript sources are compiled to dist/ by `npm install` (prepare).
import('../dist/cli/main.js').then((m) => m.main(process.argv)).catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
