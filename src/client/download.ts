import { open, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import { GetJobOutputCommand, InitiateJobCommand, type GlacierJobDescription } from '@aws-sdk/client-glacier';
import { MiB, reduceDigests, TreeHasher } from '../domain/treehash.js';
import {
  addCommonOptions,
  CliError,
  DEFAULT_RETRY,
  EXIT,
  makeClient,
  pool,
  positiveInt,
  printResult,
  requiredOption,
  RetryableError,
  runAction,
  usageExit,
  withRetry,
  type CommonOptions,
} from './common.js';
import { hashFileRange, isPowerOfTwoMiB } from './file-hash.js';
import { describeJob, listJobs, notReady, waitForJob, type JobScope } from './jobs.js';
import { progress } from './progress.js';

interface DownloadOptions extends CommonOptions {
  vault: string;
  archiveId: string;
  output: string;
  tier?: string;
  range?: string;
  jobId?: string;
  chunkSize: string;
  wait: boolean;
  force?: boolean;
}

export function registerDownload(program: Command): void {
  const cmd = program
    .command('download')
    .description('retrieve an archive: start (or reuse) a retrieval job, wait, download verified chunks in parallel, resumable')
    .addOption(requiredOption('--vault <name>', 'vault name'))
    .addOption(requiredOption('--archive-id <id>', 'archive id'))
    .addOption(requiredOption('--output <file>', 'where to write the archive (renamed into place once every byte is verified)'))
    .option('--tier <tier>', 'Expedited, Standard or Bulk (for a new retrieval job)', 'Standard')
    .option('--range <start-end>', 'retrieve only these bytes of the archive (inclusive, megabyte aligned)')
    .option('--job-id <id>', 'download the output of this retrieval job instead of finding or starting one')
    .option('--chunk-size <MiB>', 'size of each ranged GetJobOutput request in MiB, a power of two', '16')
    .option('--no-wait', `if the job is not finished, print its id and exit with code ${EXIT.notReady}`)
    .option('--force', 'overwrite --output if it exists');
  addCommonOptions(cmd);
  usageExit(cmd);
  cmd.action(runAction('download', (opts: DownloadOptions) => download(opts)));
}

/** Kept next to the partial output so an interrupted download resumes; removed on success. */
interface DownloadState {
  version: 1;
  vault: string;
  archiveId: string;
  range: string | null;
  jobId: string;
  size?: number;
  chunkSize?: number;
  /** Tree hash (hex) of each verified chunk, by chunk index. */
  chunks: Record<string, string>;
}

async function readState(path: string, o: DownloadOptions): Promise<DownloadState | null> {
  try {
    const s = JSON.parse(await readFile(path, 'utf8')) as DownloadState;
    if (s.version === 1 && s.vault === o.vault && s.archiveId === o.archiveId && s.range === (o.range ?? null)) return s;
  } catch {
    /* no state, or unreadable: start afresh */
  }
  return null;
}

/** Writes the state file atomically, one write at a time. */
function stateWriter(path: string) {
  let chain = Promise.resolve();
  return (s: DownloadState) => {
    const text = JSON.stringify(s);
    chain = chain.then(async () => {
      await writeFile(path + '.tmp', text);
      await rename(path + '.tmp', path);
    });
    return chain;
  };
}

const parseRange = (r: string) => {
  const m = /^(\d+)-(\d+)$/.exec(r);
  return m ? { start: Number(m[1]), end: Number(m[2]) } : null;
};

async function download(o: DownloadOptions): Promise<void> {
  const concurrency = positiveInt(o.concurrency, '--concurrency');
  let chunkSize = positiveInt(o.chunkSize, '--chunk-size') * MiB;
  if (!isPowerOfTwoMiB(chunkSize)) throw new CliError('--chunk-size must be 1, 2, 4, 8, … (MiB): chunks must be tree-hash aligned', EXIT.usage);
  const tier = o.tier ?? 'Standard';
  if (!['Expedited', 'Standard', 'Bulk'].includes(tier)) throw new CliError(`--tier must be Expedited, Standard or Bulk, not ${tier}`, EXIT.usage);
  if (o.range !== undefined && !parseRange(o.range)) throw new CliError(`--range must be START-END (inclusive bytes), not ${o.range}`, EXIT.usage);
  if (!o.force && (await stat(o.output).catch(() => null))) throw new CliError(`${o.output} exists; pass --force to overwrite it`, EXIT.usage);
  const partPath = `${o.output}.firn-part`;
  const statePath = `${o.output}.firn-download.json`;

  const client = makeClient(o);
  const scope: JobScope = { client, accountId: o.accountId, vault: o.vault };
  const log = (m: string) => {
    if (!o.quiet) process.stderr.write(m + '\n');
  };
  try {
    let state = await readState(statePath, o);
    const job0 = await findOrStartJob(scope, o, tier, state?.jobId, log);
    const saveState = stateWriter(statePath);
    // Chunks already verified stay valid with another job for the same archive and range.
    state = state ? { ...state, jobId: job0.JobId! } : { version: 1, vault: o.vault, archiveId: o.archiveId, range: o.range ?? null, jobId: job0.JobId!, chunks: {} };
    await saveState(state);
    const job = await waitForJob(scope, job0.JobId!, { noWait: !o.wait, log });
    if (!job) {
      printResult({ jobId: job0.JobId, status: 'InProgress' });
      throw notReady(job0.JobId!);
    }

    const retrieval = parseRange(job.RetrievalByteRange ?? '') ?? { start: 0, end: (job.ArchiveSizeInBytes ?? 0) - 1 };
    const size = retrieval.end - retrieval.start + 1;
    // A chunk's x-amz-sha256-tree-hash is only sent when the chunk is tree-hash aligned in the
    // archive, so chunks start at multiples of their size in archive offsets.
    while (chunkSize > MiB && retrieval.start % chunkSize !== 0) chunkSize /= 2;
    if (state.size !== size || state.chunkSize === undefined) {
      state = { ...state, size, chunkSize, chunks: {} };
    }
    chunkSize = state.chunkSize!;
    const nChunks = Math.max(1, Math.ceil(size / chunkSize));
    const chunkRange = (k: number) => ({ start: k * chunkSize, end: Math.min((k + 1) * chunkSize, size) - 1 });

    // Chunks verified by an earlier run are checked again on disk: the state file may be newer
    // than the data if the machine lost power.
    const fh = await openPart(partPath, size, Object.keys(state.chunks).length > 0);
    try {
      const roots: (string | undefined)[] = new Array(nChunks);
      const recorded = Object.entries(state.chunks).map(([k, h]) => [Number(k), h] as const).filter(([k]) => k < nChunks);
      state.chunks = {};
      await pool(recorded, concurrency, async ([k, h]) => {
        const r = chunkRange(k);
        if ((await hashFileRange(partPath, r.start, r.end - r.start + 1).catch(() => null))?.treeHash === h) {
          roots[k] = h;
          state!.chunks[k] = h;
        }
      });
      const resumedChunks = Object.keys(state.chunks).length;
      await saveState(state);
      const missing = [...Array(nChunks).keys()].filter((k) => roots[k] === undefined);
      const resumedBytes = size - missing.reduce((s, k) => s + chunkRange(k).end - chunkRange(k).start + 1, 0);
      log(
        `downloading job ${job.JobId} (${size} bytes) to ${o.output}: ${nChunks} chunks of ${chunkSize / MiB} MiB` +
          (resumedChunks ? `; resuming, ${resumedChunks} chunks already verified` : ''),
      );

      const prog = progress(`download`, size, { quiet: o.quiet, initial: resumedBytes });
      let verifiedChunks = resumedChunks;
      try {
        await pool(missing, concurrency, async (k) => {
          const r = chunkRange(k);
          const got = await withRetry(
            async () => {
              let counted = 0;
              try {
                return await fetchChunk(scope, job.JobId!, fh, r, (n) => {
                  counted += n;
                  prog.add(n);
                });
              } catch (e) {
                prog.add(-counted);
                throw e;
              }
            },
            {
              ...DEFAULT_RETRY,
              attempts: 5,
              onRetry: (e, n, ms) => prog.log(`chunk ${r.start}-${r.end}: attempt ${n} failed (${(e as Error).message}); retrying in ${(ms / 1000).toFixed(1)} s`),
            },
          );
          roots[k] = got.treeHash;
          if (got.verified) verifiedChunks++;
          state!.chunks[k] = got.treeHash;
          await saveState(state!);
        });
      } finally {
        prog.stop();
      }

      const checksum = reduceDigests(roots.map((h) => Buffer.from(h!, 'hex'))).toString('hex');
      const expected = job.SHA256TreeHash ?? (o.range === undefined ? job.ArchiveSHA256TreeHash : undefined);
      if (expected && expected !== checksum) {
        await rm(statePath, { force: true });
        throw new CliError(`the downloaded bytes have tree hash ${checksum}, the job says ${expected}; ${partPath} is kept, ${o.output} was not written`, EXIT.integrity);
      }
      if (!expected && verifiedChunks < nChunks) log(`warning: the server sent no tree hash for this range; ${nChunks - verifiedChunks} chunks are unverified`);
      // On disk before it gets its final name.
      await fh.sync();
      await fh.close();
      await rename(partPath, o.output);
      await rm(statePath, { force: true });
      printResult({ archiveId: o.archiveId, jobId: job.JobId, output: o.output, size, checksum, chunks: nChunks, verifiedChunks, resumedChunks });
    } finally {
      await fh.close().catch(() => {});
    }
  } finally {
    client.destroy();
  }
}

async function openPart(path: string, size: number, keep: boolean): Promise<FileHandle> {
  const fh = await open(path, keep && (await stat(path).catch(() => null)) ? 'r+' : 'w+');
  await fh.truncate(size);
  return fh;
}

/**
 * One ranged GetJobOutput, streamed to its place in the partial file while its tree hash is
 * computed. A mismatch with the x-amz-sha256-tree-hash the server sent is retried.
 */
async function fetchChunk(
  s: JobScope,
  jobId: string,
  fh: FileHandle,
  r: { start: number; end: number },
  onBytes: (n: number) => void,
): Promise<{ treeHash: string; verified: boolean }> {
  const out = await s.client.send(new GetJobOutputCommand({ accountId: s.accountId, vaultName: s.vault, jobId, range: `bytes=${r.start}-${r.end}` }));
  const h = new TreeHasher();
  let pos = r.start;
  // Socket reads are ~64 KiB; they are written in batches of about 1 MiB (far fewer syscalls).
  let batch: Buffer[] = [];
  let batched = 0;
  const flush = async () => {
    const buf = batch.length === 1 ? batch[0]! : Buffer.concat(batch, batched);
    await fh.write(buf, 0, buf.length, pos);
    pos += buf.length;
    onBytes(buf.length);
    batch = [];
    batched = 0;
  };
  for await (const piece of out.body as Readable) {
    const buf = piece as Buffer;
    if (pos + batched + buf.length > r.end + 1) throw new RetryableError(`chunk ${r.start}-${r.end}: the server sent more bytes than asked for`);
    h.update(buf);
    batch.push(buf);
    batched += buf.length;
    if (batched >= MiB) await flush();
  }
  if (batched > 0) await flush();
  if (pos !== r.end + 1) throw new RetryableError(`chunk ${r.start}-${r.end}: the response ended after ${pos - r.start} bytes`);
  const treeHash = h.digest().treeHash;
  if (out.checksum !== undefined && out.checksum !== treeHash) {
    throw new RetryableError(
      `chunk ${r.start}-${r.end} is corrupt: received bytes have tree hash ${treeHash}, the server's x-amz-sha256-tree-hash is ${out.checksum}`,
      EXIT.integrity,
    );
  }
  return { treeHash, verified: out.checksum !== undefined };
}

/**
 * The retrieval job to download from: the one named by --job-id or remembered from an
 * interrupted run if it still exists, else a matching archive retrieval already in progress or
 * finished (same archive, same range), else a new one.
 */
async function findOrStartJob(s: JobScope, o: DownloadOptions, tier: string, remembered: string | undefined, log: (m: string) => void): Promise<GlacierJobDescription> {
  if (o.jobId) {
    const job = await describeJob(s, o.jobId);
    if (job.Action !== 'ArchiveRetrieval' || job.ArchiveId !== o.archiveId) throw new CliError(`job ${o.jobId} is not a retrieval of archive ${o.archiveId}`, EXIT.usage);
    return job;
  }
  if (remembered) {
    const job = await describeJob(s, remembered).catch(() => null);
    if (job && job.StatusCode !== 'Failed') return job;
  }
  const matches = (await listJobs(s)).filter(
    (j) =>
      j.Action === 'ArchiveRetrieval' &&
      j.ArchiveId === o.archiveId &&
      j.StatusCode !== 'Failed' &&
      j.RetrievalByteRange === (o.range ?? `0-${(j.ArchiveSizeInBytes ?? 0) - 1}`),
  );
  const reuse = matches.find((j) => j.StatusCode === 'Succeeded') ?? matches[0];
  if (reuse) {
    log(`reusing retrieval job ${reuse.JobId} (${reuse.StatusCode})`);
    return reuse;
  }
  const started = await withRetry(() =>
    s.client.send(
      new InitiateJobCommand({
        accountId: s.accountId,
        vaultName: s.vault,
        jobParameters: { Type: 'archive-retrieval', ArchiveId: o.archiveId, Tier: tier, ...(o.range ? { RetrievalByteRange: o.range } : {}) },
      }),
    ),
  );
  log(`started retrieval job ${started.jobId} (${tier})`);
  return { JobId: started.jobId, StatusCode: 'InProgress' };
}
