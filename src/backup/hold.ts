import type { StateRepo } from '../storage/metadata/types.js';

/**
 * While a backup copies blob files, the blob collector must not delete any: a blob the database
 * snapshot still references may lose its last reference after the snapshot (an archive deleted, a
 * multipart part re-uploaded, a job output expired) and would then be missing from the copy.
 * `firn backup` sets this hold (wall-clock epoch ms, renewed while it runs) before it snapshots
 * the database; a backup process that dies leaves a hold that lapses on its own.
 */
export const BACKUP_HOLD_KEY = 'backup.blobDeletionHeldUntil';
export const BACKUP_HOLD_MS = 10 * 60_000;

export async function blobDeletionHeld(state: StateRepo, wallNow: number): Promise<boolean> {
  const until = Number((await state.get(BACKUP_HOLD_KEY)) ?? 0);
  return Number.isFinite(until) && until > wallNow;
}
