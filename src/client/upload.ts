import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Command } from 'commander';
import {
  CompleteMultipartUploadCommand,
  InitiateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  UploadArchiveCommand,
  UploadMultipartPartCommand,
  type GlacierClient,
  type PartListElement,
  type UploadListElement,
} from '@aws-sdk/client-glacier';
import { MiB, reduceDigests } from '../domain/treehash.js';
import {
  addCommonOptions,
  CliError,
  DEFAULT_RETRY,
  EXIT,
  listAll,
  makeClient,
  pool,
  positiveInt,
  printResult,
  requiredOption,
  runAction,
  usageExit,
  withChecksums,
  withRetry,
  type CommonOptions,
  type RetryOptions,
} from './common.js';
import { choosePartSize, hashFileRange, isPowerOfTwoMiB } from './file-hash.js';
import { progress, type Progress } from './progress.js';

interface UploadOptions extends CommonOptions {
  vault: string;
  description?: string;
  partSize?: string;
  multipartThreshold: string;
  resume: boolean;
}

export function registerUpload(program: Command): void {
  const cmd = program
    .command('upload')
    .description('upload a file as one archive: multipart in parallel above a threshold, resumable after an interruption')
    .argument('<file>', 'file to upload')
    .addOption(requiredOption('--vault <name>', 'vault name'))
    .option('--description <text>', 'archive description, printable ASCII, ≤ 1024 characters (default: the file name)')
    .option('--part-size <MiB>', 'multipart part size in MiB, a power of two (default: from the file size, ≥ 16 MiB, ≤ 10,000 parts)')
    .option('--multipart-threshold <MiB>', 'files larger than this use a multipart upload', '64')
    .option('--no-resume', 'start a new upload even if an interrupted one matches');
  addCommonOptions(cmd);
  usageExit(cmd);
  cmd.action(runAction('upload', (file: string, opts: UploadOptions) => upload(file, opts)));
}

/** Glacier archive descriptions: printable ASCII (32–126), at most 1024 characters. */
function checkDescription(d: string): void {
  if (d.length > 1024 || !/^[\x20-\x7e]*$/.test(d)) {
    throw new CliError(`the archive description must be printable ASCII of at most 1024 characters: ${JSON.stringify(d)} (pass --description)`, EXIT.usage);
  }
}

async function upload(file: string, o: UploadOptions): Promise<void> {
  const st = await stat(file).catch(() => null);
  if (!st || !st.isFile()) throw new CliError(`${file}: not a readable file`, EXIT.usage);
  if (st.size === 0) throw new CliError(`${file} is empty; a Glacier archive holds at least 1 byte`, EXIT.usage);
  const description = o.description ?? basename(file);
  checkDescription(description);
  const concurrency = positiveInt(o.concurrency, '--concurrency');
  const threshold = positiveInt(o.multipartThreshold, '--multipart-threshold') * MiB;
  let partSize: number;
  if (o.partSize !== undefined) {
    partSize = positiveInt(o.partSize, '--part-size') * MiB;
    if (!isPowerOfTwoMiB(partSize) || partSize > 4096 * MiB) throw new CliError('--part-size must be 1, 2, 4, … or 4096 (MiB)', EXIT.usage);
    if (Math.ceil(st.size / partSize) > 10_000) throw new CliError(`--part-size ${o.partSize} splits this file into more than 10,000 parts; use a larger one`, EXIT.usage);
  } else {
    partSize = choosePartSize(st.size);
  }

  const client = makeClient(o);
  const ctx: Ctx = { client, file, size: st.size, mtimeMs: st.mtimeMs, vault: o.vault, accountId: o.accountId, description, quiet: !!o.quiet };
  try {
    const multipart = st.size > threshold || (o.partSize !== undefined && st.size > partSize);
    const result = multipart ? await multipartUpload(ctx, partSize, concurrency, o.resume) : await singleUpload(ctx);
    printResult(result);
  } finally {
    client.destroy();
  }
}

interface Ctx {
  client: GlacierClient;
  file: string;
  size: number;
  mtimeMs: number;
  vault: string;
  accountId: string;
  description: string;
  quiet: boolean;
}

interface UploadResult {
  archiveId: string;
  checksum: string;
  size: number;
  location: string;
  resumedParts: number;
}

function retryLogging(prog: Progress, what: string): RetryOptions {
  return { ...DEFAULT_RETRY, onRetry: (e, n, ms) => prog.log(`${what}: attempt ${n} failed (${(e as Error).name}: ${(e as Error).message}); retrying in ${(ms / 1000).toFixed(1)} s`) };
}

/** The file must not change while it is being uploaded (size and modification time are checked). */
async function assertUnchanged(ctx: Ctx): Promise<void> {
  const st = await stat(ctx.file);
  if (st.size !== ctx.size || st.mtimeMs !== ctx.mtimeMs) {
    throw new CliError(`${ctx.file} changed while it was being uploaded; nothing was completed`, EXIT.fileChanged);
  }
}

async function singleUpload(ctx: Ctx): Promise<UploadResult> {
  const prog = progress(`upload ${basename(ctx.file)}`, ctx.size, { quiet: ctx.quiet });
  try {
    const h = await hashFileRange(ctx.file, 0, ctx.size);
    const out = await withRetry(
      () =>
        ctx.client.send(
          new UploadArchiveCommand({
            accountId: ctx.accountId,
            vaultName: ctx.vault,
            archiveDescription: ctx.description,
            checksum: h.treeHash,
            body: withChecksums(createReadStream(ctx.file, { start: 0, end: ctx.size - 1 }), h.linearHash, h.treeHash),
          }),
        ),
      retryLogging(prog, 'upload'),
    );
    prog.add(ctx.size);
    await assertUnchanged(ctx);
    if (out.checksum !== h.treeHash) throw new CliError(`the server reports tree hash ${out.checksum}, the file has ${h.treeHash}`, EXIT.integrity);
    return { archiveId: out.archiveId!, checksum: h.treeHash, size: ctx.size, location: out.location!, resumedParts: 0 };
  } finally {
    prog.stop();
  }
}

const partRange = (i: number, partSize: number, size: number) => {
  const start = i * partSize;
  return { start, length: Math.min(partSize, size - start) };
};

async function multipartUpload(ctx: Ctx, partSize: number, concurrency: number, resume: boolean): Promise<UploadResult> {
  const nParts = Math.ceil(ctx.size / partSize);
  const roots: (string | undefined)[] = new Array(nParts);
  let uploadId: string | undefined;
  let resumedParts = 0;
  if (resume) {
    const found = await findResumable(ctx, partSize, concurrency);
    if (found) {
      uploadId = found.uploadId;
      for (const [i, th] of found.parts) roots[i] = th;
      resumedParts = found.parts.size;
    }
  }
  if (!uploadId) {
    const init = await withRetry(() =>
      ctx.client.send(
        new InitiateMultipartUploadCommand({ accountId: ctx.accountId, vaultName: ctx.vault, archiveDescription: ctx.description, partSize: String(partSize) }),
      ),
    );
    uploadId = init.uploadId!;
  }
  const missing = [...Array(nParts).keys()].filter((i) => roots[i] === undefined);
  const resumedBytes = ctx.size - missing.reduce((s, i) => s + partRange(i, partSize, ctx.size).length, 0);
  if (!ctx.quiet) {
    process.stderr.write(
      `uploading ${ctx.file} (${ctx.size} bytes) to vault ${ctx.vault}: ${nParts} parts of ${partSize / MiB} MiB, upload id ${uploadId}` +
        (resumedParts ? `; resuming, ${resumedParts} parts already there` : '') +
        '\n',
    );
  }
  const prog = progress(`upload ${basename(ctx.file)}`, ctx.size, { quiet: ctx.quiet, initial: resumedBytes });
  try {
    await pool(missing, concurrency, async (i) => {
      const { start, length } = partRange(i, partSize, ctx.size);
      const h = await hashFileRange(ctx.file, start, length);
      const range = `bytes ${start}-${start + length - 1}/*`;
      const out = await withRetry(
        () =>
          ctx.client.send(
            new UploadMultipartPartCommand({
              accountId: ctx.accountId,
              vaultName: ctx.vault,
              uploadId,
              range,
              checksum: h.treeHash,
              body: withChecksums(createReadStream(ctx.file, { start, end: start + length - 1 }), h.linearHash, h.treeHash),
            }),
          ),
        retryLogging(prog, `part ${i}`),
      );
      if (out.checksum !== h.treeHash) throw new CliError(`part ${i}: the server reports tree hash ${out.checksum}, the file has ${h.treeHash}`, EXIT.integrity);
      roots[i] = h.treeHash;
      prog.add(length);
    });
    await assertUnchanged(ctx);
    const checksum = reduceDigests(roots.map((r) => Buffer.from(r!, 'hex'))).toString('hex');
    const done = await withRetry(
      () =>
        ctx.client.send(
          new CompleteMultipartUploadCommand({ accountId: ctx.accountId, vaultName: ctx.vault, uploadId, archiveSize: String(ctx.size), checksum }),
        ),
      retryLogging(prog, 'complete'),
    );
    return { archiveId: done.archiveId!, checksum, size: ctx.size, location: done.location!, resumedParts };
  } finally {
    prog.stop();
  }
}

/**
 * Finds an unfinished upload of this file: same description and part size (ListMultipartUploads),
 * and every part already there (ListParts) at a range this file's size allows, with the tree hash
 * of the same bytes of the file. Returns its id and the parts found, or null when there is none.
 * A candidate whose parts do not match means the file changed since: that is an error, not a
 * reason to start over silently (the old upload would be left behind).
 */
async function findResumable(ctx: Ctx, partSize: number, concurrency: number): Promise<{ uploadId: string; parts: Map<number, string> } | null> {
  const uploads = await listAll<UploadListElement>(async (marker) => {
    const r = await ctx.client.send(new ListMultipartUploadsCommand({ accountId: ctx.accountId, vaultName: ctx.vault, marker }));
    return { items: r.UploadsList, marker: r.Marker };
  });
  const candidates = uploads
    .filter((u) => (u.ArchiveDescription ?? '') === ctx.description && u.PartSizeInBytes === partSize)
    .sort((a, b) => String(b.CreationDate).localeCompare(String(a.CreationDate)));
  if (candidates.length === 0) return null;
  const problems: string[] = [];
  for (const u of candidates) {
    const parts = await listAll<PartListElement>(async (marker) => {
      const r = await ctx.client.send(new ListPartsCommand({ accountId: ctx.accountId, vaultName: ctx.vault, uploadId: u.MultipartUploadId, marker }));
      return { items: r.Parts, marker: r.Marker };
    });
    const problem = await checkParts(ctx, parts, partSize, concurrency);
    if (typeof problem !== 'string') return { uploadId: u.MultipartUploadId!, parts: problem };
    problems.push(`upload ${u.MultipartUploadId} (started ${u.CreationDate}): ${problem}`);
  }
  throw new CliError(
    `${ctx.file} changed since its upload was interrupted: ${problems.join('; ')}. ` +
      `Run again with --no-resume to start a new upload (and remove the old one with ` +
      `\`aws glacier abort-multipart-upload --vault-name ${ctx.vault} --upload-id <id>\`).`,
    EXIT.fileChanged,
  );
}

/** The parts' tree hashes by index, or a description of the first mismatch. */
async function checkParts(ctx: Ctx, parts: PartListElement[], partSize: number, concurrency: number): Promise<Map<number, string> | string> {
  const byIndex = new Map<number, string>();
  for (const p of parts) {
    const m = /^(\d+)-(\d+)$/.exec(p.RangeInBytes ?? '');
    if (!m || !p.SHA256TreeHash) return `part ${p.RangeInBytes} is unreadable`;
    const start = Number(m[1]);
    const end = Number(m[2]);
    const i = start / partSize;
    if (!Number.isInteger(i) || start >= ctx.size || end !== Math.min(start + partSize, ctx.size) - 1) {
      return `its part ${start}-${end} does not fit a file of ${ctx.size} bytes`;
    }
    byIndex.set(i, p.SHA256TreeHash);
  }
  let mismatch: string | null = null;
  await pool([...byIndex.keys()], concurrency, async (i) => {
    const { start, length } = partRange(i, partSize, ctx.size);
    const h = await hashFileRange(ctx.file, start, length);
    if (h.treeHash !== byIndex.get(i)) mismatch ??= `part ${start}-${start + length - 1} has a different tree hash`;
  });
  return mismatch ?? byIndex;
}
