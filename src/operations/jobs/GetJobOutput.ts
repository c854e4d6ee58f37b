import { Errors } from '../../domain/errors.js';
import { contentTypeFor } from '../../domain/inventory.js';
import { isLegacyOutputKey, outputLength, type JobRecord } from '../../domain/jobs.js';
import { downloadIsTreeHashAligned, parseHttpRange, type ByteRange } from '../../domain/ranges.js';
import { MiB, treeHashOfLeaves } from '../../domain/treehash.js';
import { verifiedRead, type LeafSpan } from '../../storage/verify.js';
import { header } from '../common.js';
import type { Handler, OpContext } from '../types.js';
import { requireJob } from './DescribeJob.js';

/**
 * The leaf digests of archive bytes [start, endExclusive), from those saved on the job at
 * completion, else the archive's own (kept with its tombstone); null when neither covers them.
 */
async function leavesCovering(ctx: OpContext, job: JobRecord, start: number, endExclusive: number): Promise<LeafSpan | null> {
  const first = Math.floor(start / MiB);
  const last = Math.ceil(endExclusive / MiB);
  const covers = (l: LeafSpan | null): l is LeafSpan => l !== null && first >= l.firstLeaf && (last - l.firstLeaf) * 32 <= l.packed.length;
  const saved = await ctx.app.store.jobs.getLeaves(job.seq);
  if (covers(saved)) return saved;
  const packed = await ctx.app.store.archives.getLeaves(job.archiveId!);
  const own = packed ? { firstLeaf: 0, packed } : null;
  return covers(own) ? own : null;
}

const leafSlice = (l: LeafSpan, first: number, last: number) => l.packed.subarray((first - l.firstLeaf) * 32, (last - l.firstLeaf) * 32);

/**
 * x-amz-sha256-tree-hash of output bytes `d` of an archive retrieval, or null when the range
 * (in archive offsets) is not tree-hash aligned (DG api-job-output-get, DG checksum-calculations). Computed from the stored leaf
 * digests, never by re-reading the bytes.
 */
function downloadTreeHash(job: JobRecord, d: ByteRange, total: number, leaves: LeafSpan | null): string | null {
  const retrieval = { start: job.rangeStart!, end: job.rangeEnd! };
  if (!downloadIsTreeHashAligned(retrieval, d, job.archiveSize!)) return null;
  if (d.start === 0 && d.end === total - 1 && job.treeHash !== null) return job.treeHash;
  if (!leaves) return null;
  return treeHashOfLeaves(leafSlice(leaves, (retrieval.start + d.start) / MiB, Math.ceil((retrieval.start + d.end + 1) / MiB)));
}

/**
 * GET /{a}/vaults/{v}/jobs/{jobId}/output → 200 with the whole output, or 206 with Content-Range
 * for `Range: bytes=S-E` (relative to the job output, end clamped at EOF). Streamed from the blob
 * store: the archive's blob (retrievals) or the job's output blob (inventories; a legacy output
 * file for inventories completed before #12, src/jobs/legacy-outputs.ts); a client disconnect
 * aborts the read.
 *
 * Archive bytes are checked as they stream (FIRN_VERIFY_DOWNLOADS, on by default): each 1 MiB is
 * hashed on a worker thread and compared with the leaf digest recorded at upload before any of it
 * is sent. A damaged MiB is logged at error level and the response is cut before it (the client
 * sees a body shorter than Content-Length), so damaged bytes never arrive as a complete 200.
 */
export const GetJobOutput: Handler = async (ctx, input) => {
  const job = await requireJob(ctx, input);
  if (job.status !== 'Succeeded') {
    // Real AWS (Java SDK message, glacieruploader#61); moto and LocalStack wrongly answer 404.
    throw Errors.invalidParameter(`The job is not currently available for download: ${job.jobId}`);
  }
  const total = outputLength(job)!;
  const parsed = parseHttpRange(header(input, 'range'), total);
  if (parsed.kind === 'invalid') throw Errors.invalidParameter(parsed.message);
  const range = parsed.kind === 'range' ? parsed.range : { start: 0, end: total - 1 };
  const length = range.end - range.start + 1;
  const headers: Record<string, string | number> = {
    'Accept-Ranges': 'bytes',
    'Content-Length': length,
  };
  if (parsed.kind === 'range') headers['Content-Range'] = `bytes ${range.start}-${range.end}/${total}`;

  if (job.action === 'ArchiveRetrieval') {
    headers['Content-Type'] = 'application/octet-stream';
    // The SDKs read ArchiveDescription from this header only (DG api-job-output-get).
    headers['x-amz-archive-description'] = job.archiveDescription ?? '';
    const start = job.rangeStart! + range.start;
    const leaves = await leavesCovering(ctx, job, start, start + length);
    const th = downloadTreeHash(job, range, total, leaves);
    if (th !== null) headers['x-amz-sha256-tree-hash'] = th;
    const status = parsed.kind === 'range' ? 206 : 200;
    if (!(ctx.app.config.verifyDownloads && leaves)) return { status, headers, stream: ctx.app.blobs.read(job.blobKey!, start, start + length, ctx.signal) };
    const chunks = verifiedRead(ctx.app.blobs, job.blobKey!, job.archiveSize!, leaves, start, start + length, ctx.signal, (e) =>
      ctx.app.log.error({ archiveId: job.archiveId, vaultArn: job.vaultArn, jobId: job.jobId, mib: e.leafIndex, reason: e.reason }, 'archive bytes damaged: download cut short'),
    );
    return { status, headers, chunks };
  }
  headers['Content-Type'] = contentTypeFor(job.inventory!.format);
  const key = job.outputKey!;
  // An inventory output is a blob held by its job; one completed before #12 is a legacy file.
  const stream = isLegacyOutputKey(key) ? ctx.app.jobs.legacyOutputs.read(key, range.start, range.end + 1) : ctx.app.blobs.read(key, range.start, range.end + 1, ctx.signal);
  return { status: parsed.kind === 'range' ? 206 : 200, headers, stream };
};
