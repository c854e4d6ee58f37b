/**
 * DescribeVault counters and inventory dates as the Developer Guide defines them, in both inventory
 * modes: the counters are those of the inventory dated LastInventoryDate (DG Describe Vault), an
 * inventory job returns that inventory, and InventoryDate "is only updated if there have been
 * archive additions or deletions to the vault since the last inventory" (DG Get Job Output).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { RawGlacier, sha256Hex } from '../helpers/glacier-raw.js';
import { ManualClock } from '../../src/lib/clock.js';

const H = 3_600_000;
const OVERHEAD = 32 * 1024;

interface Inventory {
  InventoryDate: string;
  ArchiveList: { ArchiveId: string; Size: number }[];
}

function harness(s: TestServer, name: string) {
  const g = new RawGlacier(s.url, name);
  const describe = async () => {
    const r = await g.req('GET', '');
    assert.equal(r.status, 200);
    const d = r.json();
    const list = await s.request({ method: 'GET', path: '/-/vaults', query: { limit: '1000' } });
    assert.deepEqual(list.json().VaultList.find((x: { VaultName: string }) => x.VaultName === name), d, 'ListVaults reports the same figures');
    return d as { LastInventoryDate: string | null; NumberOfArchives: number; SizeInBytes: number; CreationDate: string };
  };
  const inventory = async (): Promise<Inventory> => {
    const r = await g.initiateJob({ Type: 'inventory-retrieval' });
    assert.equal(r.status, 202, r.body.toString());
    await s.running.app.jobs.runDue();
    const out = await g.getJobOutput(String(r.headers['x-amz-job-id']));
    assert.equal(out.status, 200, out.body.toString());
    return JSON.parse(out.body.toString()) as Inventory;
  };
  const upload = async (size: number): Promise<string> => {
    const r = await g.uploadArchive(Buffer.alloc(size, 7), 'x');
    assert.equal(r.status, 201, r.body.toString());
    return String(r.headers['x-amz-archive-id']);
  };
  const del = async (id: string) => assert.equal((await g.req('DELETE', `/archives/${id}`)).status, 204);
  /** DescribeVault and an inventory job taken now agree: same date (to the second), same archives. */
  const agree = async (): Promise<{ d: Awaited<ReturnType<typeof describe>>; inv: Inventory }> => {
    await s.running.app.jobs.runDue(); // a daily snapshot that is due is taken before both reads
    const d = await describe();
    const inv = await inventory();
    assert.equal(inv.InventoryDate, (d.LastInventoryDate ?? d.CreationDate).replace(/\.\d{3}Z$/, 'Z'), 'InventoryDate is LastInventoryDate');
    assert.equal(d.NumberOfArchives, inv.ArchiveList.length, 'NumberOfArchives is the inventory length');
    assert.equal(d.SizeInBytes, inv.ArchiveList.reduce((n, a) => n + a.Size + OVERHEAD, 0), 'SizeInBytes is the inventory total');
    return { d, inv };
  };
  return { g, describe, inventory, upload, del, agree };
}

test('FIRN_INVENTORY=live: every addition or deletion is an inventory; LastInventoryDate moves with the counters and only with them', async () => {
  const s = await startTestServer({ clock: new ManualClock() });
  try {
    const v = harness(s, 'live-dates');
    await v.g.createVault();
    // A vault never written: no inventory yet, as a new AWS vault shows.
    let { d, inv } = await v.agree();
    assert.deepEqual([d.LastInventoryDate, d.NumberOfArchives, d.SizeInBytes], [null, 0, 0]);
    assert.deepEqual(inv.ArchiveList, []);
    s.clock.advance(1000);
    assert.equal((await v.inventory()).InventoryDate, inv.InventoryDate, 'an empty vault: the same date a second later');
    assert.equal((await v.describe()).LastInventoryDate, null, 'an inventory job on an unwritten vault takes no inventory');

    s.clock.advance(1000);
    const a = await v.upload(100);
    ({ d, inv } = await v.agree());
    assert.equal(d.LastInventoryDate, new Date(s.clock.now()).toISOString(), 'the upload is the inventory');
    assert.deepEqual(inv.ArchiveList.map((x) => x.ArchiveId), [a]);

    // Nothing changes: a second later the same inventory, the same date.
    s.clock.advance(1000);
    const again = await v.agree();
    assert.equal(again.d.LastInventoryDate, d.LastInventoryDate);
    assert.equal(again.inv.InventoryDate, inv.InventoryDate);

    s.clock.advance(1000);
    const b = await v.upload(200);
    const afterAdd = await v.agree();
    assert.ok(afterAdd.inv.InventoryDate > inv.InventoryDate, 'an addition moves the date');
    assert.deepEqual(afterAdd.inv.ArchiveList.map((x) => x.ArchiveId), [a, b]);

    s.clock.advance(1000);
    await v.del(a);
    const afterDelete = await v.agree();
    assert.ok(afterDelete.inv.InventoryDate > afterAdd.inv.InventoryDate, 'a deletion moves the date');
    assert.deepEqual(afterDelete.inv.ArchiveList.map((x) => x.ArchiveId), [b]);

    // Neither a repeated delete nor a refused upload is an addition or deletion.
    s.clock.advance(1000);
    await v.del(a);
    const body = Buffer.alloc(10, 1);
    assert.equal((await v.g.uploadArchive(body, 'bad', { treeHash: '0'.repeat(64), sha256: sha256Hex(body) })).status, 400);
    const still = await v.agree();
    assert.equal(still.d.LastInventoryDate, afterDelete.d.LastInventoryDate);
    assert.equal(still.inv.InventoryDate, afterDelete.inv.InventoryDate);
  } finally {
    await s.close();
  }
});

test('FIRN_INVENTORY=daily: inventory jobs return the snapshot and its date; the date moves only after a change', async () => {
  const s = await startTestServer({ config: { inventoryMode: 'daily', inventoryCadence: H }, clock: new ManualClock() });
  const advance = async (ms: number) => {
    s.clock.advance(ms);
    await s.running.app.jobs.runDue();
  };
  try {
    const v = harness(s, 'daily-dates');
    await v.g.createVault();
    const a = await v.upload(100);
    // Written but not yet inventoried: 0/0/null, and an empty inventory whose date does not drift.
    let { d, inv } = await v.agree();
    assert.deepEqual([d.LastInventoryDate, d.NumberOfArchives, d.SizeInBytes], [null, 0, 0]);
    s.clock.advance(1000);
    assert.equal((await v.inventory()).InventoryDate, inv.InventoryDate, 'before the first snapshot: the same date a second later');

    await advance(H);
    ({ d, inv } = await v.agree());
    assert.notEqual(d.LastInventoryDate, null);
    assert.deepEqual(inv.ArchiveList.map((x) => x.ArchiveId), [a]);
    s.clock.advance(1000);
    assert.equal((await v.inventory()).InventoryDate, inv.InventoryDate, 'no change: the same InventoryDate a second later');
    await advance(H);
    assert.equal((await v.agree()).inv.InventoryDate, inv.InventoryDate, 'no change: the next cadence keeps the date');

    // The last snapshot is more than a cadence old, so the next engine pass inventories the change.
    const b = await v.upload(300);
    const moved = await v.agree();
    assert.ok(moved.inv.InventoryDate > inv.InventoryDate, 'a change moves the date at the next snapshot');
    assert.deepEqual(moved.inv.ArchiveList.map((x) => x.ArchiveId), [a, b]);
  } finally {
    await s.close();
  }
});
