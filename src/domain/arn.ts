/** Vault ARN: `arn:aws:glacier:<region>:<accountId>:vaults/<vaultName>` (DG using-iam-with-amazon-glacier). */
export function vaultArn(region: string, accountId: string, vaultName: string): string {
  return `arn:aws:glacier:${region}:${accountId}:vaults/${vaultName}`;
}

/** Parses a vault ARN; null when it is not one. */
export function parseVaultArn(arn: string): { region: string; accountId: string; vaultName: string } | null {
  const m = /^arn:aws[a-z-]*:glacier:([a-z0-9-]+):(\d{12}):vaults\/(.+)$/.exec(arn);
  return m ? { region: m[1]!, accountId: m[2]!, vaultName: m[3]! } : null;
}
