import type { OpContext } from '../operations/types.js';

export interface RetrievalRequest {
  vaultId: number;
  tier: 'Expedited' | 'Standard' | 'Bulk';
  /** Bytes this archive retrieval will read (the requested range). */
  bytes: number;
}

/**
 * Admission control for archive retrievals at InitiateJob, before the job is stored:
 * the data-retrieval policy (PolicyEnforcedException, Standard tier only) and provisioned
 * capacity (InsufficientCapacityException, Expedited only). Owned by issue #5.
 */
export async function admitRetrieval(_ctx: OpContext, _req: RetrievalRequest): Promise<void> {
  // Issue #5 implements the checks; until then every retrieval is admitted.
}
