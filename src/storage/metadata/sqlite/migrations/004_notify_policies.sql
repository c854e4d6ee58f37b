-- Issue #5: data-retrieval policies, provisioned capacity, the retrieval ledger used by admission
-- control, and the notification outbox.

-- One policy per account and region ("You can set one policy per region for an AWS account").
-- No row means the default, Strategy None.
CREATE TABLE data_retrieval_policies (
  account_id TEXT NOT NULL,
  region TEXT NOT NULL,
  strategy TEXT NOT NULL,
  bytes_per_hour INTEGER,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (account_id, region)
);

CREATE TABLE provisioned_capacity (
  capacity_id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  region TEXT NOT NULL,
  start_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX provisioned_capacity_account ON provisioned_capacity (account_id, region, expires_at);

-- Every admitted archive retrieval, written in the same transaction as the admission decision, so
-- that two concurrent InitiateJob calls cannot both fit under a limit only one of them fits.
-- Rows older than a day are pruned (the longest window any rule looks at is 24 hours).
CREATE TABLE retrieval_ledger (
  id INTEGER PRIMARY KEY,
  account_id TEXT NOT NULL,
  region TEXT NOT NULL,
  tier TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX retrieval_ledger_window ON retrieval_ledger (account_id, region, tier, created_at);

-- notification_outbox itself is created by 003_jobs.sql (the job system writes it; src/notify delivers it).

