import { Errors } from '../../domain/errors.js';
import { MiB } from '../../domain/treehash.js';
import { isoMs } from '../../lib/clock.js';
import type { UploadRecord, VaultRecord } from '../../storage/metadata/types.js';
import { ctxVaultArn } from '../common.js';
import type { OpContext, OpInput } from '../types.js';

export const MAX_PART_SIZE = 4096 * MiB;
export const MAX_PARTS = 10_000;

/** "1 MiB × 2^n, from 1 MiB to 4 GiB" (DG uploading-archive-mpu). */
export function isValidPartSize(n: number): boolean {
  return Number.isSafeInteger(n) && n >= MiB && n <= MAX_PART_SIZE && n % MiB === 0 && ((n / MiB) & (n / MiB - 1)) === 0;
}

export function uploadNotFound(uploadId: string) {
  return Errors.resourceNotFound(`The upload ID was not found: ${uploadId}`);
}

/**
 * An upload idle this long is gone (DG uploading-archive-mpu: "may be reclaimed after 24 h of inactivity") even
 * before the periodic sweep has reclaimed its space, so behaviour does not depend on sweep timing.
 */
export function isIdleExpired(ctx: OpContext, u: UploadRecord): boolean {
  return u.state === 'active' && u.lastActivityAt < ctx.now - ctx.app.config.uploadIdleExpiry;
}

/** The upload named in the path, of this vault, in any state; 404 if unknown. */
export async function requireUpload(ctx: OpContext, input: OpInput, vault: VaultRecord): Promise<UploadRecord> {
  const uploadId = input.params.uploadId!;
  const u = await ctx.app.store.uploads.get(uploadId);
  if (!u || u.vaultId !== vault.id) throw uploadNotFound(uploadId);
  return u;
}

/** The upload, which must be active (not completed, aborted or expired). */
export async function requireActiveUpload(ctx: OpContext, input: OpInput, vault: VaultRecord): Promise<UploadRecord> {
  const u = await requireUpload(ctx, input, vault);
  if (u.state !== 'active' || isIdleExpired(ctx, u)) throw uploadNotFound(u.uploadId);
  return u;
}

/** ListParts / ListMultipartUploads item fields, in AWS's (alphabetical) order. */
export function uploadJson(ctx: OpContext, vault: VaultRecord, u: UploadRecord) {
  return {
    ArchiveDescription: u.description,
    CreationDate: isoMs(u.createdAt),
    MultipartUploadId: u.uploadId,
    PartSizeInBytes: u.partSize,
    VaultARN: ctxVaultArn(ctx, vault.name),
  };
}
