-- Small pieces of server state that must survive a restart (e.g. the domain clock's offset set
-- through the test-control API).
CREATE TABLE server_state (
  state_key TEXT PRIMARY KEY,
  state_value TEXT NOT NULL
);
