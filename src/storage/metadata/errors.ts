/** A write addressed a vault that was deleted meanwhile (any MetadataStore implementation). */
export class VaultGoneError extends Error {
  constructor(vaultId: number) {
    super(`Vault ${vaultId} no longer exists`);
  }
}
