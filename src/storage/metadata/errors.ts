/** A write addressed a vault that was deleted meanwhile (any MetadataStore implementation). */
export class VaultGoneError extends Error {
  constructor(vaultId: number) {
    super(`Vault ${vaultId} no longer exists`);
  }
}

/**
 * A commit named a blob that is not pending any more: its writer's lease lapsed (a process paused
 * or cut off for longer than the lease) and the collector reclaimed it. Nothing was written; the
 * request fails and the client retries.
 */
export class BlobLeaseLostError extends Error {
  constructor(readonly blobKey: string) {
    super(`Blob ${blobKey} is not pending any more (its lease lapsed)`);
  }
}
