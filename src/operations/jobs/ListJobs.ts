import { Errors } from '../../domain/errors.js';
import { describeJobJson, JOB_STATUSES, type JobStatus } from '../../domain/jobs.js';
import { parseLimit, requireVault } from '../common.js';
import type { Handler } from '../types.js';

/**
 * GET /{a}/vaults/{v}/jobs?limit&marker&statuscode&completed → 200 `{"JobList":[…],"Marker"}`
 * (DG api-jobs-get). Jobs in initiation order, each listed until its output expires. `limit` 1–50
 * (default 50); the Marker is the JobId of the last job returned, null when there are no more.
 */
export const ListJobs: Handler = async (ctx, input) => {
  const vault = await requireVault(ctx, input);
  const limit = parseLimit(input, 50, 50);
  const statuscode = input.query.get('statuscode');
  let status: JobStatus | null = null;
  if (statuscode !== null && statuscode !== '') {
    if (!(JOB_STATUSES as string[]).includes(statuscode)) throw Errors.invalidParameter(`The job status code is not valid: ${statuscode}`);
    status = statuscode as JobStatus;
  }
  const completedRaw = input.query.get('completed');
  let completed: boolean | null = null;
  if (completedRaw !== null && completedRaw !== '') {
    if (completedRaw !== 'true' && completedRaw !== 'false') {
      throw Errors.invalidParameter(`The value of completed is not valid: ${completedRaw}. Valid values are true and false.`);
    }
    completed = completedRaw === 'true';
  }
  const marker = input.query.get('marker');
  const afterJobId = marker === null || marker === '' ? null : marker;
  const { jobs, markerFound } = await ctx.app.store.jobs.list(vault.id, { afterJobId, status, completed, limit: limit + 1, now: ctx.now });
  if (!markerFound) throw Errors.invalidParameter(`Invalid marker: ${marker}`);
  const page = jobs.slice(0, limit);
  return {
    status: 200,
    json: {
      JobList: page.map(describeJobJson),
      Marker: jobs.length > limit ? page[page.length - 1]!.jobId : null,
    },
  };
};
