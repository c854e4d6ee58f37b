-- Access control (issue #6): IAM users with inline identity policies, and vault locks.
-- Access keys (001) gain no columns: their secret column now holds AES-256-GCM ciphertext
-- (see docs/security.md); plaintext rows written before this migration are re-encrypted on open.
CREATE TABLE users (
  account_id TEXT NOT NULL REFERENCES accounts(account_id),
  user_name TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (account_id, user_name)
);

CREATE TABLE user_policies (
  account_id TEXT NOT NULL,
  user_name TEXT NOT NULL,
  policy_name TEXT NOT NULL,
  document TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (account_id, user_name, policy_name),
  FOREIGN KEY (account_id, user_name) REFERENCES users (account_id, user_name) ON DELETE CASCADE
);

CREATE INDEX access_keys_by_owner ON access_keys (account_id, user_name);

-- One lock per vault. InProgress rows carry expires_at (created_at + 24 h); an expired row is
-- treated as absent and removed lazily. Locked rows have expires_at NULL and are never removed
-- except with the vault itself.
CREATE TABLE vault_locks (
  vault_id INTEGER PRIMARY KEY REFERENCES vaults(id) ON DELETE CASCADE,
  lock_id TEXT NOT NULL,
  policy TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('InProgress', 'Locked')),
  created_at INTEGER NOT NULL,
  expires_at INTEGER
);
