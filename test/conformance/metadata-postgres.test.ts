import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { backend, admin, freshSchema } from './postgres-backend.js';
import { useTestPostgres } from '../helpers/postgres.js';
import { metadataStoreSuite } from './metadata-suite.js';
import { PgMetadataStore } from '../../src/storage/metadata/postgres/index.js';
import { expectedVersion, migrate, MetadataConnectError, SchemaNotMigratedError } from '../../src/storage/metadata/postgres/db.js';
import { SchemaTooNewError } from '../../src/storage/metadata/migrations.js';
import { VaultGoneError } from '../../src/storage/metadata/errors.js';
import type { MetadataStore } from '../../src/storage/metadata/types.js';
import { archiveRecord, claim, createJob, garbage, inventoryJob, leaves, makeVault, pend } from './metadata/fixtures.js';

const dirs: string[] = [];
// Registered before useTestPostgres's own hook, so the schemas go before the database it made.
after(async () => {
  await backend.cleanup?.();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
useTestPostgres();

metadataStoreSuite(backend);

test('[postgres] migrations: stores opening a fresh schema at once apply each migration once (advisory lock per schema)', async () => {
  // A migration that is not idempotent: without the lock, two processes would both insert.
  const dir = mkdtempSync(join(tmpdir(), 'firn-pg-migrations-'));
  dirs.push(dir);
  writeFileSync(join(dir, '001_t.sql'), 'CREATE TABLE t (n INTEGER NOT NULL);');
  writeFileSync(join(dir, '002_row.sql'), 'INSERT INTO t (n) VALUES (1);');
  const url = await freshSchema();
  const clients = await Promise.all(
    Array.from({ length: 5 }, async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      return c;
    }),
  );
  try {
    const schema = (await clients[0]!.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]!.s;
    const applied = await Promise.all(clients.map((c) => migrate(c as unknown as pg.PoolClient, schema, dir)));
    assert.equal(
      applied.reduce((a, b) => a + b, 0),
      2,
      `each migration applied by one opener: ${applied}`,
    );
    assert.deepEqual((await clients[0]!.query('SELECT n FROM t')).rows, [{ n: 1 }]);
    assert.deepEqual((await clients[0]!.query('SELECT version FROM schema_migrations ORDER BY version')).rows, [{ version: 1 }, { version: 2 }]);
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
  // The real schema, opened by several stores at once.
  const url2 = await freshSchema();
  const stores = await Promise.all(Array.from({ length: 4 }, () => PgMetadataStore.open(url2, { maxConnections: 2 })));
  try {
    for (const s of stores) assert.deepEqual(await s.stats.schema(), { applied: expectedVersion(), expected: expectedVersion() });
  } finally {
    await Promise.all(stores.map((s) => s.close()));
  }
});

test('[postgres] a schema at a newer version than this build knows is refused with SchemaTooNewError', async () => {
  const url = await freshSchema();
  const s = await PgMetadataStore.open(url);
  const known = expectedVersion();
  await s.db.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, 0)', [known + 1, 'from-the-future.sql']);
  await s.close();
  await assert.rejects(PgMetadataStore.open(url), (e) => e instanceof SchemaTooNewError && e.databaseVersion === known + 1 && e.knownVersion === known);
  await assert.rejects(PgMetadataStore.open(url, { migrate: false }), SchemaTooNewError);
});

test('[postgres] admin opening (migrate: false) refuses a schema never migrated, and creates nothing', async () => {
  const url = await freshSchema();
  await assert.rejects(PgMetadataStore.open(url, { migrate: false }), SchemaNotMigratedError);
  const schema = new URL(url).searchParams.get('options')!.split('=')[1]!;
  const tables = await admin((c) => c.query('SELECT 1 FROM information_schema.tables WHERE table_schema = $1', [schema]));
  assert.equal(tables.rowCount, 0);
});

test('[postgres] an unreachable database or a wrong password is one MetadataConnectError naming host and database', async () => {
  const u = new URL(process.env.FIRN_TEST_METADATA_URL!);
  u.password = 'wrong-password';
  u.pathname = '/firn_no_such_database';
  await assert.rejects(PgMetadataStore.open(u.toString()), (e) => e instanceof MetadataConnectError && e.message.includes(`${u.hostname}:${u.port || '5432'}/firn_no_such_database`) && !e.message.includes('wrong-password'));
  const closed = new URL(process.env.FIRN_TEST_METADATA_URL!);
  closed.port = '1';
  await assert.rejects(PgMetadataStore.open(closed.toString()), (e) => e instanceof MetadataConnectError && e.message.includes(':1/'));
});

test('[postgres] separate schemas do not hear each other\'s signals', async () => {
  const a = await PgMetadataStore.open(await freshSchema());
  const b = await PgMetadataStore.open(await freshSchema());
  try {
    let heardA = 0;
    let heardB = 0;
    const stopA = await a.signals.listen('outbox', () => heardA++);
    const stopB = await b.signals.listen('outbox', () => heardB++);
    let resolve!: () => void;
    const got = new Promise<void>((r) => (resolve = r));
    const stopA2 = await a.signals.listen('outbox', () => resolve());
    await b.outbox.enqueue([{ topicArn: 't', message: 'b' }], 1);
    await a.outbox.enqueue([{ topicArn: 't', message: 'a' }], 1);
    await got;
    // b's notification was sent first: LISTEN/NOTIFY delivers in commit order, so had a heard it, it would have by now.
    assert.equal(heardA, 1);
    await stopA();
    await stopA2();
    await stopB();
    assert.ok(heardB <= 1);
  } finally {
    await a.close();
    await b.close();
  }
});

test('[postgres] inventory pages seek the archives index with the row-value cursor (no scan from the vault\'s first archive, no sort)', async () => {
  const s = await PgMetadataStore.open(await freshSchema());
  try {
    await s.db.query("INSERT INTO vaults (id, account_id, region, name, created_at) VALUES (1, 'a', 'r', 'v', 0), (2, 'a', 'r', 'w', 0)");
    await s.db.query(`INSERT INTO archives (vault_id, archive_id, size, tree_hash, description, created_at, blob_key, deleted_at)
      SELECT 1 + (i % 2), md5(i::text) || i, 1, 'h', '', i / 3, 'b' || i, CASE WHEN i % 10 = 0 THEN i ELSE NULL END FROM generate_series(1, 50000) i`);
    await s.db.query('ANALYZE archives');
    // The statements the repositories send, captured and explained with the same parameters.
    const sent: [string, unknown[]][] = [];
    const rows = s.db.rows.bind(s.db);
    s.db.rows = (async (sql: string, args: unknown[] = []) => {
      sent.push([sql, args]);
      return rows(sql, args);
    }) as typeof s.db.rows;
    const after = { createdAt: 6000, archiveId: 'x' };
    const page = await s.archives.list(1, { after, limit: 100 });
    const asOf = await s.jobs.listArchivesAsOf(1, 9000, { after, startDate: 10, endDate: 8000, limit: 100 });
    assert.equal(page.length, 100);
    assert.equal(asOf.length, 100);
    assert.ok(page.every((a) => a.createdAt > 6000 || (a.createdAt === 6000 && a.archiveId > 'x')));
    assert.equal(sent.length, 2);
    for (const [sql, args] of sent) {
      const plan = (await s.db.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, args)).rows.map((r) => r['QUERY PLAN']).join('\n');
      assert.match(plan, /Index Cond: .*ROW\(created_at, archive_id\) > ROW\(/, plan);
      assert.doesNotMatch(plan, /Seq Scan|Sort/, plan);
    }
  } finally {
    await s.close();
  }
});

test('[postgres] the LISTEN connection comes back after it drops: listeners are woken once, then hear signals again', async () => {
  const url = await freshSchema();
  const listener = await PgMetadataStore.open(url);
  const writer = await PgMetadataStore.open(url);
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on('warning', onWarning);
  try {
    let count = 0;
    const waiters: [number, () => void][] = [];
    const stop = await listener.signals.listen('outbox', () => {
      count++;
      for (const [n, resolve] of waiters) if (count >= n) resolve();
    });
    const reach = (n: number) => new Promise<void>((resolve) => (count >= n ? resolve() : waiters.push([n, resolve])));
    await writer.outbox.enqueue([{ topicArn: 't', message: '1' }], 1);
    await reach(1);
    const killed = await admin((c) =>
      c.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN %' AND query LIKE $1", [`%${listener.db.schema}%`]),
    );
    assert.equal(killed.rowCount, 1, 'the listening connection was found');
    await reach(2); // the wake-up after reconnecting (signals may have been lost meanwhile)
    await writer.outbox.enqueue([{ topicArn: 't', message: '2' }], 1);
    await reach(3);
    assert.ok(warnings.some((w) => /LISTEN connection lost/.test(w)), warnings.join('; '));
    await stop();
  } finally {
    process.off('warning', onWarning);
    await listener.close();
    await writer.close();
  }
});

/** Two stores (each its own pool) on one fresh schema: PostgreSQL is async, so their units interleave in one thread. */
async function twoStores(fn: (a: MetadataStore, b: MetadataStore) => Promise<void>): Promise<void> {
  const url = await freshSchema();
  const a = await PgMetadataStore.open(url, { maxConnections: 3 });
  const b = await PgMetadataStore.open(url, { maxConnections: 3 });
  try {
    await fn(a, b);
  } finally {
    await a.close();
    await b.close();
  }
}

test('[postgres] race: processes expiring jobs at once delete and release each job once (SKIP LOCKED)', async () => {
  await twoStores(async (a, b) => {
    const v = await makeVault(a);
    const N = 30;
    for (let i = 0; i < N; i++) await createJob(a, inventoryJob(v, `J${i}`), 1000);
    for (const c of await claim(a, 1000, 'w', 60_000, N)) {
      await pend(a, `out-${c.seq}`);
      assert.ok(await a.jobs.complete(c, { status: 'Succeeded', statusMessage: 'ok', completedAt: 1000, expiresAt: 2000, outputKey: `out-${c.seq}`, outputSize: 1 }));
    }
    const drain = async (s: MetadataStore) => {
      const got: string[] = [];
      for (let r = await s.jobs.expire(5000, 2); r.length > 0; r = await s.jobs.expire(5000, 2)) got.push(...r.map((j) => j.jobId));
      return got;
    };
    const [x, y] = await Promise.all([drain(a), drain(b)]);
    const all = [...x, ...y];
    assert.equal(new Set(all).size, all.length, 'no job expired twice');
    assert.equal(all.length, N);
    assert.equal((await garbage(a)).length, N, 'each output released once');
  });
});

test('[postgres] race: concurrent reapers turn each lapsed pending blob into garbage once', async () => {
  await twoStores(async (a, b) => {
    const N = 40;
    for (let i = 0; i < N; i++) await pend(a, `p${String(i).padStart(2, '0')}`, 500);
    const reap = async (s: MetadataStore) => {
      let n = 0;
      for (let k = await s.blobs.reapExpiredPending(1000, 3); k > 0; k = await s.blobs.reapExpiredPending(1000, 3)) n += k;
      return n;
    };
    const [x, y] = await Promise.all([reap(a), reap(b)]);
    assert.equal(x + y, N);
    assert.equal((await garbage(a)).length, N);
  });
});

test('[postgres] race: DeleteVault against archive creates: an archive either lands first (vault kept) or fails with VaultGoneError', async () => {
  await twoStores(async (a, b) => {
    const N = 20;
    const vaults: number[] = [];
    for (let i = 0; i < N; i++) {
      vaults.push(await makeVault(a, `v${i}`));
      await pend(a, `blob-A${i}`);
    }
    const creates = (async () => {
      const out: boolean[] = [];
      for (let i = 0; i < N; i++) {
        try {
          await a.archives.create(archiveRecord(vaults[i]!, `A${i}`, { blobKey: `blob-A${i}` }), leaves(1));
          out.push(true);
        } catch (e) {
          if (!(e instanceof VaultGoneError)) throw e;
          out.push(false);
        }
      }
      return out;
    })();
    const deletes = (async () => {
      const out: boolean[] = [];
      for (const id of [...vaults].reverse()) out.push((await b.vaults.delete(id, () => true, 2000)).deleted);
      return out.reverse();
    })();
    const [created, deleted] = await Promise.all([creates, deletes]);
    for (let i = 0; i < N; i++) {
      assert.notEqual(created[i], deleted[i], `vault ${i}: exactly one of the archive and the deletion wins`);
      const vault = await a.vaults.getById(vaults[i]!);
      if (created[i]) assert.equal(vault?.numberOfArchives, 1);
      else assert.equal(vault, null);
    }
  });
});

test('[postgres] a unit aborted for a deadlock or serialization failure is rolled back and run again; other errors are not retried', async () => {
  const s = await PgMetadataStore.open(await freshSchema());
  try {
    let runs = 0;
    const r = await s.db.tx(async (c) => {
      runs++;
      await c.query("INSERT INTO server_state (state_key, state_value) VALUES ('k', $1)", [String(runs)]);
      if (runs < 3) throw Object.assign(new Error('simulated'), { code: runs === 1 ? '40P01' : '40001' });
      return 'done';
    });
    assert.equal(r, 'done');
    assert.equal(runs, 3);
    assert.equal(await s.state.get('k'), '3', 'the aborted attempts left nothing');
    runs = 0;
    await assert.rejects(
      s.db.tx(async () => {
        runs++;
        throw Object.assign(new Error('unique'), { code: '23505' });
      }),
      /unique/,
    );
    assert.equal(runs, 1);
  } finally {
    await s.close();
  }
});
