import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

const root = new URL('../../', import.meta.url).pathname;

/**
 * A PostgreSQL database for this test file: the one FIRN_TEST_METADATA_URL names, or a fresh one
 * that `scripts/postgres.sh start` makes (and `stop` drops after the file's tests). Sets
 * FIRN_TEST_METADATA_URL and returns it.
 */
export function useTestPostgres(): string {
  if (process.env.FIRN_TEST_METADATA_URL) return process.env.FIRN_TEST_METADATA_URL;
  const dir = mkdtempSync(join(tmpdir(), 'firn-pg-'));
  const state = join(dir, 'state');
  const url = execFileSync(join(root, 'scripts/postgres.sh'), ['start', state], { encoding: 'utf8' }).trim();
  process.env.FIRN_TEST_METADATA_URL = url;
  after(() => {
    execFileSync(join(root, 'scripts/postgres.sh'), ['stop', state], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  });
  return url;
}
