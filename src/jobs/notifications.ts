import { completedJob, completionEvent, describeJobJson, type JobRecord } from '../domain/jobs.js';
import type { JobOutcome, NotificationConfig } from '../storage/metadata/types.js';

/** One outbox row: a message for one SNS topic. */
export interface OutboxMessage {
  topicArn: string;
  message: string;
}

/**
 * Who is told that a job completed, and what (DG configuring-notifications): the job's own
 * SNSTopic, and the vault's topic when the vault's notification configuration lists the job's
 * completion event ("If both a vault config for that event and a per-job SNSTopic exist, both get
 * a message"). The message is the job's DescribeJob JSON as the completion stores it
 * (`completedJob`). A pure function: the engine reads the vault's configuration before it completes
 * the job and passes the rows as `outcome.notifications`, which the store writes to the outbox in
 * the completing transaction. Storage knows no notification rule.
 */
export function completionNotifications(job: JobRecord, outcome: JobOutcome, vaultConfig: NotificationConfig | null): OutboxMessage[] {
  const topics: string[] = [];
  if (job.snsTopic) topics.push(job.snsTopic);
  if (vaultConfig && vaultConfig.events.includes(completionEvent(job.action))) topics.push(vaultConfig.snsTopic);
  if (topics.length === 0) return [];
  const message = JSON.stringify(describeJobJson(completedJob(job, outcome)));
  return topics.map((topicArn) => ({ topicArn, message }));
}

/** `outcome` with the outbox rows its completion writes. */
export function withNotifications(job: JobRecord, outcome: JobOutcome, vaultConfig: NotificationConfig | null): JobOutcome {
  return { ...outcome, notifications: completionNotifications(job, outcome, vaultConfig) };
}
