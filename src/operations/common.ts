import { Errors, withReason } from '../domain/errors.js';
import { vaultArn } from '../domain/arn.js';
import type { VaultInventory } from '../domain/inventory.js';
import { isoMs } from '../lib/clock.js';
import { BlobLeaseLostError, VaultGoneError } from '../storage/metadata/errors.js';
import type { VaultRecord } from '../storage/metadata/types.js';
import type { OpContext, OpInput } from './types.js';

/** Vault names: 1–255 characters of a-z, A-Z, 0-9, '_', '-', '.' (DG api-vault-put). */
export const VAULT_NAME_RE = /^[a-zA-Z0-9_.-]{1,255}$/;

export function ctxVaultArn(ctx: OpContext, name: string): string {
  return vaultArn(ctx.region, ctx.accountId, name);
}

/**
 * The vault row of the request path, as the request handler read it for the authorizer moments
 * before the operation runs (src/http/server.ts), so that a request reads it once, not twice.
 */
const pathVaults = new WeakMap<OpContext, { name: string; vault: VaultRecord | null }>();

/** Records the row of the vault `name` (in ctx's account and region) read for this request; null: none. */
export function rememberPathVault(ctx: OpContext, name: string, vault: VaultRecord | null): void {
  pathVaults.set(ctx, { name, vault });
}

/**
 * Looks up the vault named in the path (the row read for the authorizer, if any). Unknown → 404 `Vault not found for ARN: <arn>`. A name
 * with illegal characters gets the same code with the raw name in place of the ARN, as AWS does
 * (DG api-error-responses, bakthat#10).
 */
export async function requireVault(ctx: OpContext, input: OpInput): Promise<VaultRecord> {
  const name = input.params.vaultName!;
  if (!VAULT_NAME_RE.test(name)) throw Errors.resourceNotFound(`Vault not found for ARN: ${name}`);
  const known = pathVaults.get(ctx);
  const v = known?.name === name ? known.vault : await ctx.app.store.vaults.get({ accountId: ctx.accountId, region: ctx.region, name });
  if (!v) throw Errors.resourceNotFound(`Vault not found for ARN: ${ctxVaultArn(ctx, name)}`);
  return v;
}

/** What to throw for `e`: a store write that found the vault deleted meanwhile answers 404, like a vault that never existed. */
export function vaultGoneAsNotFound(ctx: OpContext, vaultName: string, e: unknown): unknown {
  return e instanceof VaultGoneError ? Errors.resourceNotFound(`Vault not found for ARN: ${ctxVaultArn(ctx, vaultName)}`) : e;
}

/**
 * What to throw for `e`: a write whose blob lease lapsed (BlobLeaseLostError: this process was
 * paused or cut off for longer than FIRN_LEASE and the sweep reclaimed the unfinished blob) is a
 * retryable 503 ServiceUnavailableException, logged at warn; anything else is returned unchanged.
 * Nothing was stored in either case.
 */
export function leaseLostAsRetryable(ctx: OpContext, e: unknown): unknown {
  if (!(e instanceof BlobLeaseLostError)) return e;
  ctx.app.log.warn(
    { blobKey: e.blobKey, leaseMs: ctx.app.leases.leaseMs },
    'an upload lost its blob lease (this server stalled for longer than FIRN_LEASE and the unfinished blob was reclaimed); answered 503 for the client to retry',
  );
  return withReason(
    Errors.leaseLost('The server could not finish storing the data in time and stored nothing; please retry the request.'),
    `blob lease lapsed: ${e.blobKey}`,
  );
}

/**
 * A blob write whose temporary bytes vanished before the commit's rename (ENOENT): the sweep
 * reclaimed them because the lease lapsed, which the metadata commit would refuse too.
 */
export function blobWriteLeaseLost(e: unknown, blobKey: string): unknown {
  return (e as NodeJS.ErrnoException | null)?.code === 'ENOENT' ? new BlobLeaseLostError(blobKey) : e;
}

/** Turns a blob nobody will reference (a failed or lost commit) into garbage and collects soon; never throws. */
export async function discardBlob(ctx: OpContext, blobKey: string): Promise<void> {
  await ctx.app.store.blobs.discard(blobKey, ctx.app.clock.now()).catch((err: unknown) => ctx.app.log.warn({ err, blobKey }, 'could not discard an unused blob'));
  ctx.app.blobMaintenance.kick();
}

/** Per-archive overhead in SizeInBytes: real figures fit 32 KiB per archive (DG api-vault-get). */
export const ARCHIVE_OVERHEAD_BYTES = 32 * 1024;

/** DescribeVault / ListVaults item. Every key present, in AWS's (alphabetical) order. */
export function describeVaultJson(v: VaultRecord, counts: VaultInventory) {
  return {
    CreationDate: isoMs(v.createdAt),
    LastInventoryDate: counts.at === null ? null : isoMs(counts.at),
    NumberOfArchives: counts.numberOfArchives,
    SizeInBytes: counts.sizeInBytes + counts.numberOfArchives * ARCHIVE_OVERHEAD_BYTES,
    VaultARN: vaultArn(v.region, v.accountId, v.name),
    VaultName: v.name,
  };
}

/** Parses the `limit` query parameter: an integer in [1, max], else the default. */
export function parseLimit(input: OpInput, def: number, max: number): number {
  const raw = input.query.get('limit');
  if (raw === null || raw === '') return def;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > max) {
    throw Errors.invalidParameter(`Invalid limit: ${raw}. The limit must be an integer from 1 to ${max}.`);
  }
  return Number(raw);
}

/** The JSON body as an object; a missing or non-object body is a client error. */
export function bodyObject(input: OpInput): Record<string, unknown> {
  const b = input.body;
  if (b === undefined) throw Errors.missingParameter('The request body is missing');
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw Errors.serialization('The request body must be a JSON object');
  return b as Record<string, unknown>;
}

export function header(input: OpInput, name: string): string | undefined {
  const v = input.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** Printable ASCII 0x20–0x7E, at most 1,024 characters (archive and job descriptions). */
export function isValidDescription(s: string): boolean {
  return s.length <= 1024 && /^[\x20-\x7e]*$/.test(s);
}

export const noContent = () => ({ status: 204 });
