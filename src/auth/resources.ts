import { vaultArn } from '../domain/arn.js';
import type { OperationName } from '../http/routes.js';

/** Every Glacier action name (`glacier:<OperationName>`), for validating policies. */
export const OPERATION_NAMES: readonly OperationName[] = [
  'CreateVault', 'DeleteVault', 'DescribeVault', 'ListVaults',
  'UploadArchive', 'DeleteArchive',
  'InitiateMultipartUpload', 'UploadMultipartPart', 'CompleteMultipartUpload', 'AbortMultipartUpload',
  'ListParts', 'ListMultipartUploads',
  'InitiateJob', 'DescribeJob', 'ListJobs', 'GetJobOutput',
  'SetVaultNotifications', 'GetVaultNotifications', 'DeleteVaultNotifications',
  'SetVaultAccessPolicy', 'GetVaultAccessPolicy', 'DeleteVaultAccessPolicy',
  'InitiateVaultLock', 'CompleteVaultLock', 'AbortVaultLock', 'GetVaultLock',
  'AddTagsToVault', 'RemoveTagsFromVault', 'ListTagsForVault',
  'SetDataRetrievalPolicy', 'GetDataRetrievalPolicy',
  'PurchaseProvisionedCapacity', 'ListProvisionedCapacity',
];

/**
 * The resource a request is authorized against (the `Resource` element matches it).
 * - Vault operations: the vault ARN (DG glacier-api-permissions-ref).
 * - Get/SetDataRetrievalPolicy: `arn:aws:glacier:<region>:<account>:policies/retrieval-limit-policy`
 *   (DG glacier-api-permissions-ref).
 * - ListVaults: the reference leaves it blank; Firn uses `…:vaults/*`, so a grant on
 *   `arn:aws:glacier:*:*:vaults/*` (or `*`) covers it and a grant on one vault does not.
 * - Provisioned capacity: not in the reference; Firn uses `…:provisioned-capacity/*`.
 */
export function resourceArn(op: OperationName, region: string, accountId: string, vaultName: string | undefined): string {
  if (vaultName !== undefined) return vaultArn(region, accountId, vaultName);
  switch (op) {
    case 'ListVaults':
      return `arn:aws:glacier:${region}:${accountId}:vaults/*`;
    case 'GetDataRetrievalPolicy':
    case 'SetDataRetrievalPolicy':
      return `arn:aws:glacier:${region}:${accountId}:policies/retrieval-limit-policy`;
    default:
      return `arn:aws:glacier:${region}:${accountId}:provisioned-capacity/*`;
  }
}
