// Entry point for running the real CLI from TypeScript sources (tests spawn it with
// `node --import tsx test/helpers/firn-cli.ts serve …`, so no build is needed).
import { main } from '../../src/cli/main.js';

main(process.argv).catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
