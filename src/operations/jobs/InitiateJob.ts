import { Errors, type GlacierError } from '../../domain/errors.js';
import { decodeInventoryMarker, parseInventoryDate } from '../../domain/inventory.js';
import { newJobId, TIERS, type InventoryParams, type Tier } from '../../domain/jobs.js';
import { parseRetrievalByteRange } from '../../domain/ranges.js';
import { retrievalAdmission } from '../../jobs/admission.js';
import { jobDelayMs } from '../../jobs/timing.js';
import type { Admission, NewJob } from '../../storage/metadata/types.js';
import { bodyObject, ctxVaultArn, isValidDescription, requireVault, vaultGoneAsNotFound } from '../common.js';
import type { Handler } from '../types.js';

const TYPES = ['archive-retrieval', 'inventory-retrieval', 'select'];
const MAX_INT64 = 2n ** 63n - 1n;
/** An SNS topic ARN: arn:<partition>:sns:<region>:<account>:<name>. Glacier checks neither existence nor permission. */
const SNS_TOPIC_RE = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/;

function optString(body: Record<string, unknown>, key: string): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw Errors.invalidParameter(`Invalid ${key}: the value must be a string.`);
  return v;
}

/** Fields that only some job types accept; any other type sending them gets a 400 (DG api-initiate-job-post). */
function refuse(body: Record<string, unknown>, keys: string[], type: string): void {
  for (const k of keys) {
    if (body[k] !== undefined && body[k] !== null) throw Errors.invalidParameter(`The parameter ${k} is not valid for a job of type ${type}.`);
  }
}

function inventoryParams(body: Record<string, unknown>): InventoryParams {
  const format = optString(body, 'Format') ?? 'JSON';
  if (format !== 'JSON' && format !== 'CSV') throw Errors.invalidParameter(`Invalid Format: ${format}. Valid values are CSV and JSON.`);
  const raw = body.InventoryRetrievalParameters;
  const p: InventoryParams = { format, startDate: null, endDate: null, limit: null, marker: null };
  if (raw === undefined || raw === null) return p;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw Errors.invalidParameter('Invalid InventoryRetrievalParameters: the value must be an object.');
  const r = raw as Record<string, unknown>;
  const start = optString(r, 'StartDate');
  const end = optString(r, 'EndDate');
  let startMs: number | null = null;
  let endMs: number | null = null;
  if (start !== undefined) {
    startMs = parseInventoryDate(start);
    if (startMs === null) throw Errors.invalidParameter(`Invalid StartDate: ${start}. Dates are ISO 8601 in UTC, e.g. 2013-03-20T17:03:43Z.`);
    p.startDate = start;
  }
  if (end !== undefined) {
    endMs = parseInventoryDate(end);
    if (endMs === null) throw Errors.invalidParameter(`Invalid EndDate: ${end}. Dates are ISO 8601 in UTC, e.g. 2013-03-20T17:03:43Z.`);
    p.endDate = end;
  }
  if (startMs !== null && endMs !== null && startMs >= endMs) throw Errors.invalidParameter(`The StartDate ${start} must be before the EndDate ${end}.`);
  // Limit is a string in the model, "greater than or equal to 1" with no stated maximum; taken as a
  // 64-bit integer (1 … 2^63−1) and echoed exactly. A JSON integer is accepted too (the body is parsed
  // losslessly, so one beyond 2^53 arrives as a bigint).
  const limit = r.Limit;
  if (limit !== undefined && limit !== null) {
    const s = typeof limit === 'string' || typeof limit === 'bigint' || (typeof limit === 'number' && Number.isSafeInteger(limit)) ? String(limit) : null;
    if (s === null || !/^[1-9]\d{0,18}$/.test(s) || BigInt(s) > MAX_INT64) {
      throw Errors.invalidParameter(`Invalid Limit: ${typeof limit === 'string' || typeof limit === 'bigint' ? limit : JSON.stringify(limit)}. The limit must be an integer from 1 to ${MAX_INT64}.`);
    }
    p.limit = s;
  }
  const marker = optString(r, 'Marker');
  if (marker !== undefined && marker !== '') {
    if (decodeInventoryMarker(marker) === null) throw Errors.invalidParameter(`Invalid Marker: ${marker}`);
    p.marker = marker;
  }
  return p;
}

/**
 * POST /{a}/vaults/{v}/jobs → 202 with `Location` and `x-amz-job-id`, no body (DG api-initiate-job-post). The
 * body is the JobParameters object itself, flat. Admission control, the job row and its queue
 * entry are one unit of the store, due after the tier's delay (FIRN_RETRIEVAL_TIMING).
 */
export const InitiateJob: Handler = async (ctx, input) => {
  const vault = await requireVault(ctx, input);
  const body = bodyObject(input);
  const type = optString(body, 'Type');
  if (type === undefined) throw Errors.missingParameter('The parameter Type is required. Valid values are archive-retrieval, inventory-retrieval and select.');
  if (!TYPES.includes(type)) throw Errors.invalidParameter(`Invalid job type: ${type}. Valid values are archive-retrieval, inventory-retrieval and select.`);
  if (type === 'select') throw Errors.invalidParameter('Glacier Select jobs (Type select) are not supported by this server.');

  const description = optString(body, 'Description') ?? null;
  // "≤ 1024 bytes, 0x20–0x7E" (DG api-jobParameters).
  if (description !== null && !isValidDescription(description)) {
    throw Errors.invalidParameter('Invalid job description: it must be at most 1024 printable ASCII characters (0x20–0x7E).');
  }
  const snsTopic = optString(body, 'SNSTopic') ?? null;
  if (snsTopic !== null && !SNS_TOPIC_RE.test(snsTopic)) throw Errors.invalidParameter(`Invalid SNS topic ARN: ${snsTopic}`);
  const tierRaw = optString(body, 'Tier');
  if (tierRaw !== undefined && !(TIERS as string[]).includes(tierRaw)) throw Errors.invalidParameter(`Invalid Tier: ${tierRaw}. Valid values are Expedited, Standard and Bulk.`);
  refuse(body, ['SelectParameters', 'OutputLocation'], type);

  const base = {
    jobId: newJobId(ctx.now),
    vaultId: vault.id,
    vaultArn: ctxVaultArn(ctx, vault.name),
    description,
    snsTopic,
    createdAt: ctx.now,
  };
  let job: NewJob;
  let admission: Admission<GlacierError> | null = null;
  if (type === 'inventory-retrieval') {
    // "ArchiveId … error if sent with inventory-retrieval"; RetrievalByteRange is archive-only.
    refuse(body, ['ArchiveId', 'RetrievalByteRange'], type);
    job = {
      ...base,
      action: 'InventoryRetrieval',
      tier: null,
      archiveId: null,
      archiveSize: null,
      archiveTreeHash: null,
      archiveDescription: null,
      blobKey: null,
      rangeStart: null,
      rangeEnd: null,
      rangeExplicit: false,
      treeHash: null,
      inventory: inventoryParams(body),
    };
  } else {
    refuse(body, ['Format', 'InventoryRetrievalParameters'], type);
    const archiveId = optString(body, 'ArchiveId');
    if (archiveId === undefined || archiveId === '') throw Errors.missingParameter('The parameter ArchiveId is required for a job of type archive-retrieval.');
    // "A deleted archive can still yield a successful InitiateJob; the job then fails" [DG
    // api-archive-delete]: a tombstoned archive of this vault is accepted, an unknown id is 404.
    const archive = /^[A-Za-z0-9_-]{1,200}$/.test(archiveId) ? await ctx.app.store.jobs.getArchiveEvenDeleted(vault.id, archiveId) : null;
    if (!archive) throw Errors.resourceNotFound(`Archive not found for ID: ${archiveId}`);
    const rangeRaw = optString(body, 'RetrievalByteRange');
    let start = 0;
    let end = archive.size - 1;
    if (rangeRaw !== undefined) {
      const r = parseRetrievalByteRange(rangeRaw, archive.size);
      if (!r.ok) throw Errors.invalidParameter(r.message);
      ({ start, end } = r.range);
    }
    const tier: Tier = (tierRaw as Tier | undefined) ?? 'Standard';
    admission = retrievalAdmission(ctx, { vaultId: vault.id, tier, bytes: end - start + 1 });
    job = {
      ...base,
      action: 'ArchiveRetrieval',
      tier,
      archiveId,
      archiveSize: archive.size,
      archiveTreeHash: archive.treeHash,
      archiveDescription: archive.description,
      blobKey: archive.blobKey,
      rangeStart: start,
      rangeEnd: end,
      rangeExplicit: rangeRaw !== undefined,
      // DG api-describe-job-get: with no range requested SHA256TreeHash equals ArchiveSHA256TreeHash from the
      // start; for an explicit range it is filled at completion (null if not tree-hash aligned).
      treeHash: rangeRaw === undefined ? archive.treeHash : null,
      inventory: null,
    };
  }
  const delay = jobDelayMs(ctx.app.config, job.action, job.tier);
  // Admission and the job are one unit: parallel InitiateJobs cannot together exceed the policy,
  // and a job is never created for a vault deleted meanwhile.
  let r;
  try {
    r = await ctx.app.store.jobs.create(job, ctx.now + delay, admission ?? undefined);
  } catch (e) {
    throw vaultGoneAsNotFound(ctx, vault.name, e);
  }
  if ('rejected' in r) throw r.rejected;
  const created = r.job;
  // No local kick: the store's 'jobs' signal after the commit wakes every engine sharing it, this
  // one included (in-process on SQLite, NOTIFY on PostgreSQL, where a kick here made a second pass).
  return {
    status: 202,
    headers: { Location: `/${ctx.accountId}/vaults/${vault.name}/jobs/${created.jobId}`, 'x-amz-job-id': created.jobId },
  };
};
