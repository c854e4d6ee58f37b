-- Archives, their 1 MiB leaf digests, multipart uploads and parts, and blob reference counts.

-- Deleted archives keep a tombstone row (deleted_at set) so a repeated DeleteArchive answers 204
-- and an id that never existed answers 404.
CREATE TABLE archives (
  id INTEGER PRIMARY KEY,
  vault_id INTEGER NOT NULL,
  archive_id TEXT NOT NULL UNIQUE,
  size INTEGER NOT NULL,
  tree_hash TEXT NOT NULL,
  description TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  blob_key TEXT NOT NULL,
  deleted_at INTEGER
);
-- Inventory pages through live archives of a vault in (created_at, archive_id) order.
CREATE INDEX archives_vault_created ON archives (vault_id, created_at, archive_id) WHERE deleted_at IS NULL;

-- Packed 32-byte leaf digests in chunks (one per multipart part, or per 4096 leaves), so no row
-- grows past a few hundred KiB however large the archive.
CREATE TABLE archive_leaves (
  archive_row INTEGER NOT NULL REFERENCES archives(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  leaves BLOB NOT NULL,
  PRIMARY KEY (archive_row, seq)
);

-- Every blob the BlobStore holds has a row: plain blobs (single uploads, parts) and manifests
-- (completed multipart uploads). refs counts archives, job outputs, upload parts and manifests
-- holding it. A blob whose count reaches 0 moves to blob_garbage in the same transaction; the
-- collector deletes the file and then the garbage row, so a crash in between only repeats work.
CREATE TABLE blobs (
  blob_key TEXT PRIMARY KEY,
  size INTEGER NOT NULL,
  refs INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);

-- Members of a manifest blob, in archive order. A manifest holds one reference on each member.
CREATE TABLE blob_members (
  manifest_key TEXT NOT NULL,
  seq INTEGER NOT NULL,
  member_key TEXT NOT NULL,
  PRIMARY KEY (manifest_key, seq)
);

CREATE TABLE blob_garbage (
  blob_key TEXT PRIMARY KEY,
  queued_at INTEGER NOT NULL
);

-- state: active | completed | aborted | expired. Finished uploads are kept for a while so that a
-- repeated Complete returns the same archive id and a repeated Abort still answers 204.
CREATE TABLE uploads (
  id INTEGER PRIMARY KEY,
  upload_id TEXT NOT NULL UNIQUE,
  vault_id INTEGER NOT NULL,
  part_size INTEGER NOT NULL,
  description TEXT,
  created_at INTEGER NOT NULL,
  last_activity_at INTEGER NOT NULL,
  state TEXT NOT NULL DEFAULT 'active',
  finished_at INTEGER,
  archive_id TEXT,
  archive_size INTEGER,
  tree_hash TEXT
);
CREATE INDEX uploads_vault_active ON uploads (vault_id, upload_id) WHERE state = 'active';
CREATE INDEX uploads_activity ON uploads (state, last_activity_at);

CREATE TABLE upload_parts (
  upload_row INTEGER NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
  part_index INTEGER NOT NULL,
  size INTEGER NOT NULL,
  tree_hash TEXT NOT NULL,
  blob_key TEXT NOT NULL,
  leaves BLOB NOT NULL,
  PRIMARY KEY (upload_row, part_index)
);
