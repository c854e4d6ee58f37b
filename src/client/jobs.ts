import { DescribeJobCommand, ListJobsCommand, type GlacierClient, type GlacierJobDescription } from '@aws-sdk/client-glacier';
import { CliError, EXIT, listAll, sleep, withRetry } from './common.js';

export interface JobScope {
  client: GlacierClient;
  accountId: string;
  vault: string;
}

export async function describeJob(s: JobScope, jobId: string): Promise<GlacierJobDescription> {
  return withRetry(() => s.client.send(new DescribeJobCommand({ accountId: s.accountId, vaultName: s.vault, jobId })));
}

/** Every job of the vault (ListJobs, following Marker). */
export function listJobs(s: JobScope): Promise<GlacierJobDescription[]> {
  return listAll(async (marker) => {
    const page = await s.client.send(new ListJobsCommand({ accountId: s.accountId, vaultName: s.vault, marker }));
    return { items: page.JobList, marker: page.Marker };
  });
}

export interface WaitOptions {
  /** Return null at once instead of waiting when the job is not finished. */
  noWait?: boolean;
  log: (message: string) => void;
  /** First poll interval (ms); it grows ×1.5 up to `maxIntervalMs`. */
  firstIntervalMs?: number;
  maxIntervalMs?: number;
}

/**
 * Polls DescribeJob with a growing interval until the job succeeds (returned), fails (error), or,
 * with `noWait`, returns null while it is still in progress. Glacier retrievals take minutes
 * (Expedited) to hours (Standard, Bulk); the interval tops out at two minutes.
 */
export async function waitForJob(s: JobScope, jobId: string, o: WaitOptions): Promise<GlacierJobDescription | null> {
  let interval = o.firstIntervalMs ?? 500;
  const max = o.maxIntervalMs ?? 120_000;
  const started = Date.now();
  let announced = false;
  for (;;) {
    const job = await describeJob(s, jobId);
    if (job.StatusCode === 'Succeeded') return job;
    if (job.StatusCode === 'Failed') throw new CliError(`job ${jobId} failed: ${job.StatusMessage ?? 'no reason given'}`);
    if (o.noWait) return null;
    if (!announced || Date.now() - started > 60_000) {
      o.log(`waiting for job ${jobId} (${job.Action}, ${job.Tier ?? 'Standard'}, ${job.StatusCode}, started ${job.CreationDate})`);
      announced = true;
    }
    await sleep(interval);
    interval = Math.min(max, interval * 1.5);
  }
}

export function notReady(jobId: string): CliError {
  return new CliError(`job ${jobId} is not finished yet; run the same command again later`, EXIT.notReady);
}
