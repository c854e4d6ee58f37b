import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

/**
 * Where generated job outputs (inventories) are kept during their download window: one file per
 * job under `<dataDir>/job-outputs`, written temp → fsync → rename → fsync dir, so a crash leaves
 * either no output (the job is still queued and runs again) or a whole one. Archive retrievals need
 * no copy: they are served from the archive's blob, pinned by a reference.
 */
export class JobOutputStore {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'job-outputs');
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    for (const f of await readdir(this.dir)) if (f.endsWith('.tmp')) await rm(join(this.dir, f), { force: true });
  }

  /** Writes `pieces` as the output `key`; returns the byte length. Buffers up to 1 MiB between writes. */
  async write(key: string, pieces: AsyncIterable<string>): Promise<number> {
    const final = join(this.dir, key);
    const tmp = `${final}.${process.pid}.tmp`;
    const fh = await open(tmp, 'w');
    let size = 0;
    try {
      let buf: string[] = [];
      let pending = 0;
      const flush = async () => {
        if (buf.length === 0) return;
        const b = Buffer.from(buf.join(''), 'utf8');
        buf = [];
        pending = 0;
        await fh.write(b);
        size += b.length;
      };
      for await (const p of pieces) {
        buf.push(p);
        pending += p.length;
        if (pending >= 1 << 20) await flush();
      }
      await flush();
      await fh.sync();
    } catch (e) {
      await fh.close().catch(() => {});
      await rm(tmp, { force: true });
      throw e;
    }
    await fh.close();
    await rename(tmp, final);
    const d = await open(this.dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
    return size;
  }

  /** Streams bytes [start, endExclusive) of an output. */
  read(key: string, start: number, endExclusive: number): Readable {
    return createReadStream(join(this.dir, key), { start, end: endExclusive - 1, highWaterMark: 256 * 1024 });
  }

  /** Keys of the outputs present (start-up reconciliation). */
  async list(): Promise<string[]> {
    return (await readdir(this.dir)).filter((f) => !f.endsWith('.tmp'));
  }

  async delete(key: string): Promise<void> {
    await rm(join(this.dir, key), { force: true });
  }
}
