import { Errors } from '../../domain/errors.js';
import { describeJobJson, type JobRecord } from '../../domain/jobs.js';
import { requireVault } from '../common.js';
import type { Handler, OpContext, OpInput } from '../types.js';

/**
 * The job named in the path, if it belongs to the vault and its output window has not ended.
 * Otherwise 404 `The job ID was not found: <jobId>` [DG]; an expired job "may disappear" (DG api-jobs-get).
 */
export async function requireJob(ctx: OpContext, input: OpInput): Promise<JobRecord> {
  const vault = await requireVault(ctx, input);
  const jobId = input.params.jobId!;
  const job = await ctx.app.store.jobs.get(vault.id, jobId, ctx.now);
  if (!job) throw Errors.resourceNotFound(`The job ID was not found: ${jobId}`);
  return job;
}

/** GET /{a}/vaults/{v}/jobs/{jobId} → 200 with the GlacierJobDescription (DG api-describe-job-get). */
export const DescribeJob: Handler = async (ctx, input) => {
  const job = await requireJob(ctx, input);
  return { status: 200, json: describeJobJson(job) };
};
