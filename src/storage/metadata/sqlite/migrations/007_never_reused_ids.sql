-- Ids that other rows or encoded ids refer to are never handed out twice.
--
-- `vaults.id` and `jobs.seq` were plain rowids: SQLite gives a new row MAX(rowid) + 1, so deleting
-- the newest vault let the next CreateVault (in any account) take its id, and with it the jobs,
-- uploads and archive tombstones that still carried it, and the archive ids that encode it. A job
-- seq could likewise come back while a worker still held the old job. Both now come from
-- `id_sequences`, which only grows. It starts above every id any row still mentions.
CREATE TABLE id_sequences (
  name TEXT PRIMARY KEY,
  last_id INTEGER NOT NULL
);
INSERT INTO id_sequences (name, last_id) SELECT 'vaults', MAX(m) FROM (
  SELECT COALESCE(MAX(id), 0) AS m FROM vaults
  UNION ALL SELECT MAX(vault_id) FROM archives
  UNION ALL SELECT MAX(vault_id) FROM jobs
  UNION ALL SELECT MAX(vault_id) FROM uploads
);
INSERT INTO id_sequences (name, last_id) SELECT 'jobs', MAX(m) FROM (
  SELECT COALESCE(MAX(seq), 0) AS m FROM jobs
  UNION ALL SELECT MAX(job_seq) FROM job_queue
  UNION ALL SELECT MAX(job_seq) FROM job_leaves
);

-- Rows left behind by vaults deleted before this migration move to vault 0, which no vault ever
-- has: they become unreachable through the API, and the usual machinery still ends them (jobs
-- expire and release their blobs, idle uploads expire and release their parts). A row older than
-- the vault that now holds its id belonged to a deleted predecessor that had the same id.
UPDATE jobs SET vault_id = 0
  WHERE NOT EXISTS (SELECT 1 FROM vaults v WHERE v.id = jobs.vault_id AND v.created_at <= jobs.created_at);
UPDATE uploads SET vault_id = 0
  WHERE NOT EXISTS (SELECT 1 FROM vaults v WHERE v.id = uploads.vault_id AND v.created_at <= uploads.created_at);
UPDATE archives SET vault_id = 0
  WHERE NOT EXISTS (SELECT 1 FROM vaults v WHERE v.id = archives.vault_id AND v.created_at <= archives.created_at);
