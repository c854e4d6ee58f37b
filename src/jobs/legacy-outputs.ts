import { createReadStream } from 'node:fs';
import { readdir, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { isLegacyOutputKey } from '../domain/jobs.js';
import type { JobRepo } from '../storage/metadata/types.js';

/**
 * Inventory outputs written by releases before #12: one file per job, `<dataDir>/job-outputs/<jobId>.json|csv`,
 * named by the job's `outputKey` (migration 008 keeps those rows valid with `output_blob = 0`).
 * Nothing writes here any more: every new output is a blob. A data directory carried over from
 * such a release keeps its completed inventory jobs downloadable from these files until the jobs
 * expire; the engine then removes each file, and exclusive start-up removes files whose job is
 * gone (a vault deleted, a crash between expiry and removal), and the directory once it is empty.
 */
export class LegacyJobOutputs {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'job-outputs');
  }

  /** Streams bytes [start, endExclusive) of a legacy output. */
  read(key: string, start: number, endExclusive: number): Readable {
    if (!isLegacyOutputKey(key)) throw new Error(`Not a legacy job output: ${key}`);
    return createReadStream(join(this.dir, key), { start, end: endExclusive - 1, highWaterMark: 256 * 1024 });
  }

  /** Removes a legacy output (its job expired). Idempotent. */
  async delete(key: string): Promise<void> {
    if (isLegacyOutputKey(key)) await rm(join(this.dir, key), { force: true });
  }

  /**
   * Exclusive start-up only (no other server can be serving these files): removes temp files and
   * outputs whose job no longer names them, then the directory when nothing is left. Returns how
   * many files were removed.
   */
  async prune(jobs: Pick<JobRepo, 'getByJobId'>): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw e;
    }
    let removed = 0;
    for (const f of names) {
      const keep = isLegacyOutputKey(f) && (await jobs.getByJobId(f.replace(/\.(json|csv)$/, '')))?.outputKey === f;
      if (keep) continue;
      await rm(join(this.dir, f), { force: true, recursive: true });
      removed++;
    }
    if (removed === names.length) await rmdir(this.dir).catch(() => {});
    return removed;
  }
}
