-- Accounts, access keys and vaults with their sub-resources (tags, notifications, access policy).
CREATE TABLE accounts (
  account_id TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL
);

CREATE TABLE access_keys (
  access_key_id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts(account_id),
  user_name TEXT,
  secret TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'Active',
  created_at INTEGER NOT NULL
);

CREATE TABLE vaults (
  id INTEGER PRIMARY KEY,
  account_id TEXT NOT NULL,
  region TEXT NOT NULL,
  name TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  number_of_archives INTEGER NOT NULL DEFAULT 0,
  size_in_bytes INTEGER NOT NULL DEFAULT 0,
  last_inventory_at INTEGER,
  inventory_number_of_archives INTEGER NOT NULL DEFAULT 0,
  inventory_size_in_bytes INTEGER NOT NULL DEFAULT 0,
  last_write_at INTEGER,
  UNIQUE (account_id, region, name)
);

CREATE TABLE vault_tags (
  vault_id INTEGER NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
  tag_key TEXT NOT NULL,
  tag_value TEXT NOT NULL,
  PRIMARY KEY (vault_id, tag_key)
);

CREATE TABLE vault_notifications (
  vault_id INTEGER PRIMARY KEY REFERENCES vaults(id) ON DELETE CASCADE,
  sns_topic TEXT NOT NULL,
  events TEXT NOT NULL
);

CREATE TABLE vault_access_policies (
  vault_id INTEGER PRIMARY KEY REFERENCES vaults(id) ON DELETE CASCADE,
  policy TEXT NOT NULL
);
