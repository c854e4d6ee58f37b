import { Errors } from '../../domain/errors.js';
import { contentTypeFor } from '../../domain/inventory.js';
import { outputLength, type JobRecord } from '../../domain/jobs.js';
import { downloadIsTreeHashAligned, parseHttpRange, type ByteRange } from '../../domain/ranges.js';
import { MiB, treeHashOfLeaves } from '../../domain/treehash.js';
import { header } from '../common.js';
import type { Handler, OpContext } from '../types.js';
import { requireJob } from './DescribeJob.js';

/**
 * x-amz-sha256-tree-hash of output bytes `d` of an archive retrieval, or null when the range
 * (in archive offsets) is not tree-hash aligned (DG api-job-output-get, DG checksum-calculations). Computed from the leaf digests
 * saved on the job at completion, else the archive's own; never by re-reading the bytes.
 */
async function downloadTreeHash(ctx: OpContext, job: JobRecord, d: ByteRange, total: number): Promise<string | null> {
  const retrieval = { start: job.rangeStart!, end: job.rangeEnd! };
  if (!downloadIsTreeHashAligned(retrieval, d, job.archiveSize!)) return null;
  if (d.start === 0 && d.end === total - 1 && job.treeHash !== null) return job.treeHash;
  const first = (retrieval.start + d.start) / MiB;
  const last = Math.ceil((retrieval.start + d.end + 1) / MiB);
  const saved = await ctx.app.store.jobs.getLeaves(job.seq);
  if (saved && first >= saved.firstLeaf && (last - saved.firstLeaf) * 32 <= saved.packed.length) {
    return treeHashOfLeaves(saved.packed.subarray((first - saved.firstLeaf) * 32, (last - saved.firstLeaf) * 32));
  }
  const leaves = await ctx.app.store.archives.getLeaves(job.archiveId!);
  if (leaves && last * 32 <= leaves.length) return treeHashOfLeaves(leaves.subarray(first * 32, last * 32));
  return null;
}

/**
 * GET /{a}/vaults/{v}/jobs/{jobId}/output → 200 with the whole output, or 206 with Content-Range
 * for `Range: bytes=S-E` (relative to the job output, end clamped at EOF). Streamed from the blob
 * store (archives) or the output file (inventories); a client disconnect aborts the read.
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
    const th = await downloadTreeHash(ctx, job, range, total);
    if (th !== null) headers['x-amz-sha256-tree-hash'] = th;
    const start = job.rangeStart! + range.start;
    const stream = ctx.app.blobs.read(job.blobKey!, start, start + length, ctx.signal);
    return { status: parsed.kind === 'range' ? 206 : 200, headers, stream };
  }
  headers['Content-Type'] = contentTypeFor(job.inventory!.format);
  const stream = ctx.app.jobs.outputs.read(job.outputKey!, range.start, range.end + 1);
  return { status: parsed.kind === 'range' ? 206 : 200, headers, stream };
};
