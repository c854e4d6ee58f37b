import type { OperationName } from '../http/routes.js';
import type { Handler } from './types.js';
import { CreateVault } from './vaults/CreateVault.js';
import { DeleteVault } from './vaults/DeleteVault.js';
import { DescribeVault } from './vaults/DescribeVault.js';
import { ListVaults } from './vaults/ListVaults.js';
import { AddTagsToVault } from './vaults/AddTagsToVault.js';
import { RemoveTagsFromVault } from './vaults/RemoveTagsFromVault.js';
import { ListTagsForVault } from './vaults/ListTagsForVault.js';
import { SetVaultNotifications } from './vaults/SetVaultNotifications.js';
import { GetVaultNotifications } from './vaults/GetVaultNotifications.js';
import { DeleteVaultNotifications } from './vaults/DeleteVaultNotifications.js';
import { SetVaultAccessPolicy } from './vaults/SetVaultAccessPolicy.js';
import { GetVaultAccessPolicy } from './vaults/GetVaultAccessPolicy.js';
import { DeleteVaultAccessPolicy } from './vaults/DeleteVaultAccessPolicy.js';
import { UploadArchive } from './archives/UploadArchive.js';
import { DeleteArchive } from './archives/DeleteArchive.js';
import { InitiateMultipartUpload } from './multipart/InitiateMultipartUpload.js';
import { UploadMultipartPart } from './multipart/UploadMultipartPart.js';
import { CompleteMultipartUpload } from './multipart/CompleteMultipartUpload.js';
import { AbortMultipartUpload } from './multipart/AbortMultipartUpload.js';
import { ListParts } from './multipart/ListParts.js';
import { ListMultipartUploads } from './multipart/ListMultipartUploads.js';
import { InitiateJob } from './jobs/InitiateJob.js';
import { DescribeJob } from './jobs/DescribeJob.js';
import { ListJobs } from './jobs/ListJobs.js';
import { GetJobOutput } from './jobs/GetJobOutput.js';
import { InitiateVaultLock } from './lock/InitiateVaultLock.js';
import { CompleteVaultLock } from './lock/CompleteVaultLock.js';
import { AbortVaultLock } from './lock/AbortVaultLock.js';
import { GetVaultLock } from './lock/GetVaultLock.js';
import { SetDataRetrievalPolicy } from './policies/SetDataRetrievalPolicy.js';
import { GetDataRetrievalPolicy } from './policies/GetDataRetrievalPolicy.js';
import { PurchaseProvisionedCapacity } from './policies/PurchaseProvisionedCapacity.js';
import { ListProvisionedCapacity } from './policies/ListProvisionedCapacity.js';

/** One handler per Glacier operation, named as AWS names it. */
export const handlers: Record<OperationName, Handler> = {
  CreateVault,
  DeleteVault,
  DescribeVault,
  ListVaults,
  AddTagsToVault,
  RemoveTagsFromVault,
  ListTagsForVault,
  SetVaultNotifications,
  GetVaultNotifications,
  DeleteVaultNotifications,
  SetVaultAccessPolicy,
  GetVaultAccessPolicy,
  DeleteVaultAccessPolicy,
  UploadArchive,
  DeleteArchive,
  InitiateMultipartUpload,
  UploadMultipartPart,
  CompleteMultipartUpload,
  AbortMultipartUpload,
  ListParts,
  ListMultipartUploads,
  InitiateJob,
  DescribeJob,
  ListJobs,
  GetJobOutput,
  InitiateVaultLock,
  CompleteVaultLock,
  AbortVaultLock,
  GetVaultLock,
  SetDataRetrievalPolicy,
  GetDataRetrievalPolicy,
  PurchaseProvisionedCapacity,
  ListProvisionedCapacity,
};
