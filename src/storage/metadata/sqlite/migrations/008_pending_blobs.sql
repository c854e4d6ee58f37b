-- Issue #12: blobs are recorded before their first byte is written, and job claims are held by
-- (worker, attempt).
--
-- A pending blob is being written by `owner` (a process id), which renews `lease_until` (domain
-- time) while it is alive. The unit that commits the blob's holder (an archive, a part, a
-- completed upload's manifest, a job's inventory output) deletes the pending row and inserts the
-- `blobs` row in the same transaction; a sweep turns pending rows whose lease lapsed into
-- `blob_garbage` (their writer died or stalled), and the collector then deletes whatever bytes
-- reached the BlobStore. So no process ever needs to list the BlobStore to find orphans.
-- `created_at` is wall-clock time and only informational.
CREATE TABLE pending_blobs (
  blob_key TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  lease_until INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX pending_blobs_lease ON pending_blobs (lease_until);
CREATE INDEX pending_blobs_owner ON pending_blobs (owner);

-- 1 when `output_key` names a blob of the BlobStore on which the job holds one reference (inventory
-- outputs from now on), released when the job expires or its vault is deleted, like the pinned
-- archive blob (`blob_key` / `blob_retained`). Rows written before this migration keep 0: their
-- `output_key` is a file name under <dataDir>/job-outputs that the application layer handles.
ALTER TABLE jobs ADD COLUMN output_blob INTEGER NOT NULL DEFAULT 0;

-- renewClaims (a worker's heartbeat) extends every lease the worker holds.
CREATE INDEX job_queue_claimed_by ON job_queue (claimed_by) WHERE claimed_by IS NOT NULL;
