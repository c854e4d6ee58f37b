import assert from 'node:assert/strict';
import type { SuiteContext } from '../metadata-suite.js';
import type { VaultLockRecord } from '../../../src/storage/metadata/types.js';
import { DAY, makeVault } from './fixtures.js';

const lock = (vaultId: number, lockId: string, createdAt = 1000): VaultLockRecord => ({
  vaultId,
  lockId,
  policy: `{"policy":"${lockId}"}`,
  state: 'InProgress',
  createdAt,
  expiresAt: createdAt + DAY,
});

/** Vault locks: one in force per vault, InProgress expires by the clock passed in, Locked is final. */
export function lockSection({ withStore }: SuiteContext): void {
  withStore('vault lock: initiate once, complete with the right id, then it is final', async (s) => {
    const v = await makeVault(s);
    assert.equal(await s.locks.get(v, 1000), null);
    assert.equal(await s.locks.complete(v, 'L1', 1000), 'none');
    assert.equal(await s.locks.abort(v, 1000), 'none');
    assert.deepEqual(await s.locks.initiate(lock(v, 'L1'), 1000), { ok: true });
    assert.deepEqual(await s.locks.initiate(lock(v, 'L2'), 1001), { ok: false, state: 'InProgress' });
    assert.deepEqual(await s.locks.get(v, 1002), lock(v, 'L1'));
    assert.equal(await s.locks.complete(v, 'L2', 1003), 'wrong-id-in-progress');
    assert.equal(await s.locks.complete(v, 'L1', 1004), 'locked');
    assert.deepEqual(await s.locks.get(v, 1005 + 10 * DAY), { ...lock(v, 'L1'), state: 'Locked', expiresAt: null }, 'a Locked lock never expires');
    assert.equal(await s.locks.complete(v, 'L1', 1006), 'already-locked');
    assert.equal(await s.locks.complete(v, 'L2', 1006), 'wrong-id-locked');
    assert.equal(await s.locks.abort(v, 1007), 'locked');
    assert.deepEqual(await s.locks.initiate(lock(v, 'L3'), 1008), { ok: false, state: 'Locked' });
  });

  withStore('vault lock: abort removes an InProgress lock; an expired one counts as none', async (s) => {
    const v = await makeVault(s);
    const other = await makeVault(s, 'other');
    await s.locks.initiate(lock(v, 'L1'), 1000);
    assert.equal(await s.locks.get(other, 1000), null, 'locks are per vault');
    assert.equal(await s.locks.abort(v, 1001), 'aborted');
    assert.equal(await s.locks.get(v, 1002), null);
    assert.deepEqual(await s.locks.initiate(lock(v, 'L2', 2000), 2000), { ok: true });
    const expiry = 2000 + DAY;
    assert.notEqual(await s.locks.get(v, expiry - 1), null);
    assert.equal(await s.locks.get(v, expiry), null, 'expired at expiresAt');
    assert.equal(await s.locks.complete(v, 'L2', expiry), 'none');
    assert.deepEqual(await s.locks.initiate(lock(v, 'L3', expiry), expiry), { ok: true });
  });

  withStore('vault lock: deleting the vault removes its lock', async (s) => {
    const v = await makeVault(s, 'gone');
    await s.locks.initiate(lock(v, 'L1'), 1000);
    await s.locks.complete(v, 'L1', 1000);
    assert.ok((await s.vaults.delete(v, () => true, 1001)).deleted);
    assert.equal(await s.locks.get(v, 1001), null);
    const again = await makeVault(s, 'gone');
    assert.equal(await s.locks.get(again, 1001), null);
  });
}
