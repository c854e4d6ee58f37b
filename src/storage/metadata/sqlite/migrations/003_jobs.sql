-- Glacier jobs (archive and inventory retrieval), their queue, and the notification outbox.
--
-- `jobs.seq` is the creation order (ListJobs sorts by initiation time). `vault_id` carries no
-- foreign key on purpose: a job output stays downloadable for its window and its blob reference
-- must be released at expiry, even if the vault row goes away meanwhile.
CREATE TABLE jobs (
  seq INTEGER PRIMARY KEY,
  job_id TEXT NOT NULL UNIQUE,
  vault_id INTEGER NOT NULL,
  vault_arn TEXT NOT NULL,
  action TEXT NOT NULL,
  description TEXT,
  sns_topic TEXT,
  tier TEXT,
  archive_id TEXT,
  archive_size INTEGER,
  archive_tree_hash TEXT,
  archive_description TEXT,
  blob_key TEXT,
  range_start INTEGER,
  range_end INTEGER,
  range_explicit INTEGER NOT NULL DEFAULT 0,
  tree_hash TEXT,
  inv_format TEXT,
  inv_start_date TEXT,
  inv_end_date TEXT,
  inv_limit TEXT,
  inv_marker TEXT,
  inv_next_marker TEXT,
  status TEXT NOT NULL DEFAULT 'InProgress',
  status_message TEXT NOT NULL DEFAULT 'Operation in progress.',
  created_at INTEGER NOT NULL,
  completed_at INTEGER,
  output_size INTEGER,
  output_key TEXT,
  blob_retained INTEGER NOT NULL DEFAULT 0,
  expires_at INTEGER
);
CREATE INDEX jobs_vault_seq ON jobs (vault_id, seq);
CREATE INDEX jobs_expires ON jobs (expires_at) WHERE expires_at IS NOT NULL;

-- Leaf digests of a completed archive retrieval's range, kept so that ranged downloads carry
-- x-amz-sha256-tree-hash even after the archive (and its leaves) has been deleted.
CREATE TABLE job_leaves (
  job_seq INTEGER PRIMARY KEY REFERENCES jobs(seq) ON DELETE CASCADE,
  first_leaf INTEGER NOT NULL,
  leaves BLOB NOT NULL
);

-- One row per job still to run. Written in the same transaction as the job row; deleted in the
-- transaction that completes the job. `claimed_until` is a lease: a worker that dies leaves the
-- row claimable again once it lapses.
CREATE TABLE job_queue (
  job_seq INTEGER PRIMARY KEY REFERENCES jobs(seq) ON DELETE CASCADE,
  due_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  claimed_until INTEGER,
  claimed_by TEXT,
  last_error TEXT
);
CREATE INDEX job_queue_due ON job_queue (due_at);

-- Completion notifications (issue #5 delivers them). One row per destination, written in the
-- transaction that completes the job; `message` is the DescribeJob JSON of the completed job.
CREATE TABLE notification_outbox (
  id INTEGER PRIMARY KEY,
  topic_arn TEXT NOT NULL,
  message TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  delivered_at INTEGER
);
CREATE INDEX notification_outbox_pending ON notification_outbox (delivered_at, next_attempt_at);

-- Daily inventory mode lists a vault as of its last snapshot: archives created by then and not
-- deleted before it, tombstones included (the archives index of 002 covers live rows only).
CREATE INDEX archives_vault_created_all ON archives (vault_id, created_at, archive_id);
