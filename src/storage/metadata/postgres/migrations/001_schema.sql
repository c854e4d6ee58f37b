-- The whole PostgreSQL schema as of SQLite migration 008 (the dialects number their migrations
-- separately). Tables live in the connection's current schema (search_path), so one server can
-- hold several Firn databases side by side. Times and sizes are BIGINT epoch ms / bytes; names and
-- ids that are ordered or paged compare in ASCII (byte) order, like SQLite: COLLATE "C".

CREATE TABLE accounts (
  account_id TEXT COLLATE "C" PRIMARY KEY,
  created_at BIGINT NOT NULL
);

CREATE TABLE access_keys (
  access_key_id TEXT COLLATE "C" PRIMARY KEY,
  account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts(account_id),
  user_name TEXT COLLATE "C",
  secret TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'Active',
  created_at BIGINT NOT NULL
);
CREATE INDEX access_keys_by_owner ON access_keys (account_id, user_name);

CREATE TABLE users (
  account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts(account_id),
  user_name TEXT COLLATE "C" NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (account_id, user_name)
);

CREATE TABLE user_policies (
  account_id TEXT COLLATE "C" NOT NULL,
  user_name TEXT COLLATE "C" NOT NULL,
  policy_name TEXT COLLATE "C" NOT NULL,
  document TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (account_id, user_name, policy_name),
  FOREIGN KEY (account_id, user_name) REFERENCES users (account_id, user_name) ON DELETE CASCADE
);

-- Vault ids and job seqs are never handed out twice (archive ids encode the vault id; workers hold seqs).
CREATE SEQUENCE vault_ids;
CREATE SEQUENCE job_seqs;

CREATE TABLE vaults (
  id BIGINT PRIMARY KEY,
  account_id TEXT COLLATE "C" NOT NULL,
  region TEXT COLLATE "C" NOT NULL,
  name TEXT COLLATE "C" NOT NULL,
  created_at BIGINT NOT NULL,
  number_of_archives BIGINT NOT NULL DEFAULT 0,
  size_in_bytes BIGINT NOT NULL DEFAULT 0,
  last_inventory_at BIGINT,
  inventory_number_of_archives BIGINT NOT NULL DEFAULT 0,
  inventory_size_in_bytes BIGINT NOT NULL DEFAULT 0,
  last_write_at BIGINT,
  UNIQUE (account_id, region, name)
);

CREATE TABLE vault_tags (
  vault_id BIGINT NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
  tag_key TEXT COLLATE "C" NOT NULL,
  tag_value TEXT NOT NULL,
  PRIMARY KEY (vault_id, tag_key)
);

CREATE TABLE vault_notifications (
  vault_id BIGINT PRIMARY KEY REFERENCES vaults(id) ON DELETE CASCADE,
  sns_topic TEXT NOT NULL,
  events TEXT NOT NULL
);

CREATE TABLE vault_access_policies (
  vault_id BIGINT PRIMARY KEY REFERENCES vaults(id) ON DELETE CASCADE,
  policy TEXT NOT NULL
);

CREATE TABLE vault_locks (
  vault_id BIGINT PRIMARY KEY REFERENCES vaults(id) ON DELETE CASCADE,
  lock_id TEXT NOT NULL,
  policy TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('InProgress', 'Locked')),
  created_at BIGINT NOT NULL,
  expires_at BIGINT
);

-- Deleted archives keep a tombstone row (deleted_at set).
CREATE TABLE archives (
  id BIGSERIAL PRIMARY KEY,
  vault_id BIGINT NOT NULL,
  archive_id TEXT COLLATE "C" NOT NULL UNIQUE,
  size BIGINT NOT NULL,
  tree_hash TEXT NOT NULL,
  description TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  blob_key TEXT COLLATE "C" NOT NULL,
  deleted_at BIGINT
);
-- Inventory pages seek these with a row value: (created_at, archive_id) > ($t, $id).
CREATE INDEX archives_vault_created ON archives (vault_id, created_at, archive_id) WHERE deleted_at IS NULL;
CREATE INDEX archives_vault_created_all ON archives (vault_id, created_at, archive_id);

CREATE TABLE archive_leaves (
  archive_row BIGINT NOT NULL REFERENCES archives(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  leaves BYTEA NOT NULL,
  PRIMARY KEY (archive_row, seq)
);

-- Live blobs with their reference counts; manifests' members; garbage for the collector; pending
-- blobs being written under a lease (see BlobRepo in types.ts).
CREATE TABLE blobs (
  blob_key TEXT COLLATE "C" PRIMARY KEY,
  size BIGINT NOT NULL,
  refs INTEGER NOT NULL,
  created_at BIGINT NOT NULL
);

CREATE TABLE blob_members (
  manifest_key TEXT COLLATE "C" NOT NULL,
  seq INTEGER NOT NULL,
  member_key TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (manifest_key, seq)
);

CREATE TABLE blob_garbage (
  blob_key TEXT COLLATE "C" PRIMARY KEY,
  queued_at BIGINT NOT NULL
);
CREATE INDEX blob_garbage_queued ON blob_garbage (queued_at, blob_key);

CREATE TABLE pending_blobs (
  blob_key TEXT COLLATE "C" PRIMARY KEY,
  owner TEXT NOT NULL,
  lease_until BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX pending_blobs_lease ON pending_blobs (lease_until, blob_key);
CREATE INDEX pending_blobs_owner ON pending_blobs (owner);

CREATE TABLE uploads (
  id BIGSERIAL PRIMARY KEY,
  upload_id TEXT COLLATE "C" NOT NULL UNIQUE,
  vault_id BIGINT NOT NULL,
  part_size BIGINT NOT NULL,
  description TEXT,
  created_at BIGINT NOT NULL,
  last_activity_at BIGINT NOT NULL,
  state TEXT NOT NULL DEFAULT 'active',
  finished_at BIGINT,
  archive_id TEXT,
  archive_size BIGINT,
  tree_hash TEXT
);
CREATE INDEX uploads_vault_active ON uploads (vault_id, upload_id) WHERE state = 'active';
CREATE INDEX uploads_vault ON uploads (vault_id);
CREATE INDEX uploads_activity ON uploads (state, last_activity_at);
CREATE INDEX uploads_finished ON uploads (finished_at) WHERE state <> 'active';

CREATE TABLE upload_parts (
  upload_row BIGINT NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
  part_index INTEGER NOT NULL,
  size BIGINT NOT NULL,
  tree_hash TEXT NOT NULL,
  blob_key TEXT COLLATE "C" NOT NULL,
  leaves BYTEA NOT NULL,
  PRIMARY KEY (upload_row, part_index)
);

-- Jobs: vault_id carries no foreign key (an output outlives nothing, but its blob must be released at expiry).
CREATE TABLE jobs (
  seq BIGINT PRIMARY KEY,
  job_id TEXT COLLATE "C" NOT NULL UNIQUE,
  vault_id BIGINT NOT NULL,
  vault_arn TEXT NOT NULL,
  action TEXT NOT NULL,
  description TEXT,
  sns_topic TEXT,
  tier TEXT,
  archive_id TEXT COLLATE "C",
  archive_size BIGINT,
  archive_tree_hash TEXT,
  archive_description TEXT,
  blob_key TEXT,
  range_start BIGINT,
  range_end BIGINT,
  range_explicit BOOLEAN NOT NULL DEFAULT FALSE,
  tree_hash TEXT,
  inv_format TEXT,
  inv_start_date TEXT,
  inv_end_date TEXT,
  inv_limit TEXT,
  inv_marker TEXT,
  inv_next_marker TEXT,
  status TEXT NOT NULL DEFAULT 'InProgress',
  status_message TEXT NOT NULL DEFAULT 'Operation in progress.',
  created_at BIGINT NOT NULL,
  completed_at BIGINT,
  output_size BIGINT,
  output_key TEXT,
  blob_retained BOOLEAN NOT NULL DEFAULT FALSE,
  output_blob BOOLEAN NOT NULL DEFAULT FALSE,
  expires_at BIGINT
);
CREATE INDEX jobs_vault_seq ON jobs (vault_id, seq);
CREATE INDEX jobs_expires ON jobs (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE job_leaves (
  job_seq BIGINT PRIMARY KEY REFERENCES jobs(seq) ON DELETE CASCADE,
  first_leaf BIGINT NOT NULL,
  leaves BYTEA NOT NULL
);

CREATE TABLE job_queue (
  job_seq BIGINT PRIMARY KEY REFERENCES jobs(seq) ON DELETE CASCADE,
  due_at BIGINT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  claimed_until BIGINT,
  claimed_by TEXT,
  last_error TEXT
);
CREATE INDEX job_queue_due ON job_queue (due_at, job_seq);
CREATE INDEX job_queue_claimed_by ON job_queue (claimed_by) WHERE claimed_by IS NOT NULL;

CREATE TABLE notification_outbox (
  id BIGSERIAL PRIMARY KEY,
  topic_arn TEXT NOT NULL,
  message TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  next_attempt_at BIGINT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  delivered_at BIGINT
);
CREATE INDEX notification_outbox_pending ON notification_outbox (next_attempt_at, id) WHERE delivered_at IS NULL;

CREATE TABLE data_retrieval_policies (
  account_id TEXT COLLATE "C" NOT NULL,
  region TEXT COLLATE "C" NOT NULL,
  strategy TEXT NOT NULL,
  bytes_per_hour BIGINT,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (account_id, region)
);

CREATE TABLE provisioned_capacity (
  capacity_id TEXT COLLATE "C" PRIMARY KEY,
  account_id TEXT COLLATE "C" NOT NULL,
  region TEXT COLLATE "C" NOT NULL,
  start_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX provisioned_capacity_account ON provisioned_capacity (account_id, region, expires_at);

CREATE TABLE retrieval_ledger (
  id BIGSERIAL PRIMARY KEY,
  account_id TEXT COLLATE "C" NOT NULL,
  region TEXT COLLATE "C" NOT NULL,
  tier TEXT NOT NULL,
  bytes BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX retrieval_ledger_window ON retrieval_ledger (account_id, region, tier, created_at);
CREATE INDEX retrieval_ledger_created ON retrieval_ledger (created_at);

CREATE TABLE server_state (
  state_key TEXT COLLATE "C" PRIMARY KEY,
  state_value TEXT NOT NULL
);
