import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MetadataStore } from '../../src/storage/metadata/types.js';

/**
 * The MetadataStore conformance suite (vaults and accounts). Every backend runs it through its own
 * *.test.ts file with a factory that returns a fresh, empty store.
 */
export function metadataStoreSuite(backend: string, factory: () => Promise<MetadataStore>): void {
  const withStore = (name: string, fn: (s: MetadataStore) => Promise<void>) =>
    test(`[${backend}] ${name}`, async () => {
      const s = await factory();
      try {
        await fn(s);
      } finally {
        await s.close();
      }
    });

  const key = (name: string, region = 'us-east-1', accountId = '111122223333') => ({ accountId, region, name });

  withStore('vault create is idempotent and keeps the first creation date', async (s) => {
    const a = await s.vaults.create(key('v1'), 1000, 10);
    assert.ok('vault' in a && a.created);
    const b = await s.vaults.create(key('v1'), 2000, 10);
    assert.ok('vault' in b && !b.created);
    assert.equal(b.vault.id, a.vault.id);
    assert.equal(b.vault.createdAt, 1000);
    assert.equal(b.vault.numberOfArchives, 0);
    assert.equal(b.vault.lastInventoryAt, null);
  });

  withStore('vault limit counts per account and region', async (s) => {
    assert.ok('vault' in (await s.vaults.create(key('a'), 1, 2)));
    assert.ok('vault' in (await s.vaults.create(key('b'), 1, 2)));
    assert.deepEqual(await s.vaults.create(key('c'), 1, 2), { limitExceeded: true });
    assert.ok('vault' in (await s.vaults.create(key('a'), 1, 2)), 'an existing vault is still returned at the limit');
    assert.ok('vault' in (await s.vaults.create(key('c', 'eu-west-1'), 1, 2)), 'other region, own limit');
    assert.ok('vault' in (await s.vaults.create(key('c', 'us-east-1', '999988887777'), 1, 2)), 'other account, own limit');
  });

  withStore('vaults are partitioned by account and region; get and getById agree', async (s) => {
    const r = await s.vaults.create(key('same'), 1, 10);
    await s.vaults.create(key('same', 'eu-west-1'), 1, 10);
    await s.vaults.create(key('same', 'us-east-1', '999988887777'), 1, 10);
    assert.ok('vault' in r);
    const got = await s.vaults.get(key('same'));
    assert.deepEqual(got, await s.vaults.getById(r.vault.id));
    assert.equal(got?.region, 'us-east-1');
    assert.equal(await s.vaults.get(key('other')), null);
    assert.equal(await s.vaults.getById(987654), null);
  });

  withStore('list is in ASCII (byte) order from an inclusive start, limited', async (s) => {
    for (const n of ['b', 'B', 'a', 'A', '_', '-', '0', 'a.b']) await s.vaults.create(key(n), 1, 100);
    await s.vaults.create(key('zz', 'eu-west-1'), 1, 100);
    const all = (await s.vaults.list('111122223333', 'us-east-1', null, 100)).map((v) => v.name);
    assert.deepEqual(all, ['-', '0', 'A', 'B', '_', 'a', 'a.b', 'b']);
    const from = (await s.vaults.list('111122223333', 'us-east-1', 'B', 3)).map((v) => v.name);
    assert.deepEqual(from, ['B', '_', 'a']);
  });

  withStore('delete removes the vault and its sub-resources', async (s) => {
    const r = await s.vaults.create(key('gone'), 1, 10);
    assert.ok('vault' in r);
    const id = r.vault.id;
    await s.vaults.addTags(id, { a: '1' }, 50);
    await s.vaults.setNotifications(id, { snsTopic: 'arn:aws:sns:us-east-1:111122223333:t', events: ['ArchiveRetrievalCompleted'] });
    await s.vaults.setAccessPolicy(id, '{}');
    await s.vaults.delete(id);
    assert.equal(await s.vaults.get(key('gone')), null);
    const again = await s.vaults.create(key('gone'), 5, 10);
    assert.ok('vault' in again);
    assert.deepEqual(await s.vaults.getTags(again.vault.id), {});
    assert.equal(await s.vaults.getNotifications(again.vault.id), null);
    assert.equal(await s.vaults.getAccessPolicy(again.vault.id), null);
  });

  withStore('tags: overwrite, limit is all-or-nothing, remove is idempotent', async (s) => {
    const r = await s.vaults.create(key('t'), 1, 10);
    assert.ok('vault' in r);
    const id = r.vault.id;
    assert.equal(await s.vaults.addTags(id, { a: '1', b: '2' }, 3), true);
    assert.equal(await s.vaults.addTags(id, { a: 'x' }, 3), true);
    assert.equal(await s.vaults.addTags(id, { c: '3', d: '4' }, 3), false);
    assert.deepEqual(await s.vaults.getTags(id), { a: 'x', b: '2' });
    assert.equal(await s.vaults.addTags(id, { c: '3', a: 'y' }, 3), true);
    await s.vaults.removeTags(id, ['a', 'missing']);
    await s.vaults.removeTags(id, ['a']);
    assert.deepEqual(await s.vaults.getTags(id), { b: '2', c: '3' });
  });

  withStore('notifications and access policy: set overwrites, delete is idempotent, text is byte-exact', async (s) => {
    const r = await s.vaults.create(key('n'), 1, 10);
    assert.ok('vault' in r);
    const id = r.vault.id;
    await s.vaults.setNotifications(id, { snsTopic: 't1', events: ['ArchiveRetrievalCompleted'] });
    await s.vaults.setNotifications(id, { snsTopic: 't2', events: ['InventoryRetrievalCompleted', 'ArchiveRetrievalCompleted'] });
    assert.deepEqual(await s.vaults.getNotifications(id), { snsTopic: 't2', events: ['InventoryRetrievalCompleted', 'ArchiveRetrievalCompleted'] });
    await s.vaults.deleteNotifications(id);
    await s.vaults.deleteNotifications(id);
    assert.equal(await s.vaults.getNotifications(id), null);
    const text = '{ "Version" : "2012-10-17",\n "Statement": [] , "ü": "\\u00fc" }';
    await s.vaults.setAccessPolicy(id, '{}');
    await s.vaults.setAccessPolicy(id, text);
    assert.equal(await s.vaults.getAccessPolicy(id), text);
    await s.vaults.deleteAccessPolicy(id);
    await s.vaults.deleteAccessPolicy(id);
    assert.equal(await s.vaults.getAccessPolicy(id), null);
  });

  withStore('access keys: upsert, lookup, root keys listed in creation order', async (s) => {
    await s.accounts.ensureAccount('111122223333', 1);
    await s.accounts.ensureAccount('111122223333', 2);
    assert.equal(await s.accounts.getAccessKey('AKIANOPE000000000000'), null);
    await s.accounts.putAccessKey({ accessKeyId: 'AKIAROOT000000000002', accountId: '111122223333', userName: null, secret: 's2', status: 'Active', createdAt: 20 });
    await s.accounts.putAccessKey({ accessKeyId: 'AKIAROOT000000000001', accountId: '111122223333', userName: null, secret: 's1', status: 'Active', createdAt: 10 });
    const got = await s.accounts.getAccessKey('AKIAROOT000000000001');
    assert.equal(got?.secret, 's1');
    assert.equal(got?.userName, null);
    await s.accounts.putAccessKey({ accessKeyId: 'AKIAROOT000000000001', accountId: '111122223333', userName: null, secret: 's1-rotated', status: 'Active', createdAt: 10 });
    assert.equal((await s.accounts.getAccessKey('AKIAROOT000000000001'))?.secret, 's1-rotated');
    const roots = await s.accounts.findRootKeys();
    assert.deepEqual(roots.map((k) => k.accessKeyId), ['AKIAROOT000000000001', 'AKIAROOT000000000002']);
  });

  withStore('server state: get of a missing key is null, put overwrites', async (s) => {
    assert.equal(await s.state.get('clock.offsetMs'), null);
    await s.state.put('clock.offsetMs', '1000');
    await s.state.put('clock.offsetMs', '2000');
    assert.equal(await s.state.get('clock.offsetMs'), '2000');
  });
}
