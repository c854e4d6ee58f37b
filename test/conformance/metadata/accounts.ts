import assert from 'node:assert/strict';
import type { SuiteContext } from '../metadata-suite.js';
import type { AccessKeyRecord } from '../../../src/storage/metadata/types.js';
import { ACCOUNT } from './fixtures.js';

const OTHER = '999988887777';

const key = (id: string, o: Partial<AccessKeyRecord> = {}): AccessKeyRecord => ({
  accessKeyId: id,
  accountId: ACCOUNT,
  userName: null,
  secret: `secret-of-${id}`,
  status: 'Active',
  createdAt: 10,
  ...o,
});

/** Accounts, IAM users, their access keys and inline policies. */
export function accountSection({ withStore }: SuiteContext): void {
  withStore('accounts: ensureAccount is idempotent; listed by creation date; accountExists', async (s) => {
    await s.accounts.ensureAccount(OTHER, 5);
    await s.accounts.ensureAccount(ACCOUNT, 7);
    await s.accounts.ensureAccount(OTHER, 9);
    assert.deepEqual(await s.accounts.listAccounts(), [
      { accountId: OTHER, createdAt: 5 },
      { accountId: ACCOUNT, createdAt: 7 },
    ]);
    assert.equal(await s.accounts.accountExists(ACCOUNT), true);
    assert.equal(await s.accounts.accountExists('000000000000'), false);
  });

  withStore('access keys: upsert, lookup, root keys listed in creation order', async (s) => {
    await s.accounts.ensureAccount(ACCOUNT, 1);
    assert.equal(await s.accounts.getAccessKey('AKIANOPE000000000000'), null);
    await s.accounts.putAccessKey(key('AKIAROOT000000000002', { secret: 's2', createdAt: 20 }));
    await s.accounts.putAccessKey(key('AKIAROOT000000000001', { secret: 's1', createdAt: 10 }));
    const got = await s.accounts.getAccessKey('AKIAROOT000000000001');
    assert.deepEqual(got, key('AKIAROOT000000000001', { secret: 's1', createdAt: 10 }));
    await s.accounts.putAccessKey(key('AKIAROOT000000000001', { secret: 's1-rotated', createdAt: 10 }));
    assert.equal((await s.accounts.getAccessKey('AKIAROOT000000000001'))?.secret, 's1-rotated');
    const roots = await s.accounts.findRootKeys();
    assert.deepEqual(
      roots.map((k) => k.accessKeyId),
      ['AKIAROOT000000000001', 'AKIAROOT000000000002'],
    );
  });

  withStore('users: create is false for an existing user; listed by name; per account', async (s) => {
    await s.accounts.ensureAccount(ACCOUNT, 1);
    await s.accounts.ensureAccount(OTHER, 1);
    assert.equal(await s.accounts.createUser(ACCOUNT, 'bob', 10), true);
    assert.equal(await s.accounts.createUser(ACCOUNT, 'alice', 11), true);
    assert.equal(await s.accounts.createUser(ACCOUNT, 'bob', 12), false);
    assert.equal(await s.accounts.createUser(OTHER, 'bob', 13), true);
    assert.deepEqual(await s.accounts.getUser(ACCOUNT, 'bob'), { accountId: ACCOUNT, userName: 'bob', createdAt: 10 });
    assert.equal(await s.accounts.getUser(ACCOUNT, 'carol'), null);
    assert.deepEqual(
      (await s.accounts.listUsers(ACCOUNT)).map((u) => u.userName),
      ['alice', 'bob'],
    );
  });

  withStore('access keys listed per owner; status and delete report whether the key existed', async (s) => {
    await s.accounts.ensureAccount(ACCOUNT, 1);
    await s.accounts.ensureAccount(OTHER, 1);
    await s.accounts.createUser(ACCOUNT, 'bob', 1);
    await s.accounts.putAccessKey(key('AKIAROOT0000000000A1', { createdAt: 1 }));
    await s.accounts.putAccessKey(key('AKIABOB00000000000B1', { userName: 'bob', createdAt: 2 }));
    await s.accounts.putAccessKey(key('AKIABOB00000000000B2', { userName: 'bob', createdAt: 3 }));
    await s.accounts.putAccessKey(key('AKIAOTHER000000000O1', { accountId: OTHER, createdAt: 0 }));
    const ids = (ks: AccessKeyRecord[]) => ks.map((k) => k.accessKeyId);
    assert.deepEqual(ids(await s.accounts.listAccessKeys(ACCOUNT)), ['AKIAROOT0000000000A1', 'AKIABOB00000000000B1', 'AKIABOB00000000000B2']);
    assert.deepEqual(ids(await s.accounts.listAccessKeys(ACCOUNT, null)), ['AKIAROOT0000000000A1']);
    assert.deepEqual(ids(await s.accounts.listAccessKeys(ACCOUNT, 'bob')), ['AKIABOB00000000000B1', 'AKIABOB00000000000B2']);
    assert.equal(await s.accounts.setAccessKeyStatus('AKIABOB00000000000B1', 'Inactive'), true);
    assert.equal(await s.accounts.setAccessKeyStatus('AKIANOPE000000000000', 'Inactive'), false);
    assert.equal((await s.accounts.getAccessKey('AKIABOB00000000000B1'))?.status, 'Inactive');
    assert.equal(await s.accounts.deleteAccessKey('AKIABOB00000000000B2'), true);
    assert.equal(await s.accounts.deleteAccessKey('AKIABOB00000000000B2'), false);
    assert.equal(await s.accounts.getAccessKey('AKIABOB00000000000B2'), null);
  });

  withStore('user policies: put replaces byte-exact, listed by name; deleting a user takes its keys and policies', async (s) => {
    await s.accounts.ensureAccount(ACCOUNT, 1);
    await s.accounts.createUser(ACCOUNT, 'bob', 1);
    const doc = '{ "Version": "2012-10-17" ,\n "Statement": [] }';
    await s.accounts.putUserPolicy({ accountId: ACCOUNT, userName: 'bob', policyName: 'zeta', document: '{}', updatedAt: 1 });
    await s.accounts.putUserPolicy({ accountId: ACCOUNT, userName: 'bob', policyName: 'alpha', document: '{}', updatedAt: 2 });
    await s.accounts.putUserPolicy({ accountId: ACCOUNT, userName: 'bob', policyName: 'zeta', document: doc, updatedAt: 3 });
    assert.deepEqual(await s.accounts.getUserPolicy(ACCOUNT, 'bob', 'zeta'), { accountId: ACCOUNT, userName: 'bob', policyName: 'zeta', document: doc, updatedAt: 3 });
    assert.equal(await s.accounts.getUserPolicy(ACCOUNT, 'bob', 'nope'), null);
    assert.deepEqual(
      (await s.accounts.listUserPolicies(ACCOUNT, 'bob')).map((p) => p.policyName),
      ['alpha', 'zeta'],
    );
    assert.equal(await s.accounts.deleteUserPolicy(ACCOUNT, 'bob', 'alpha'), true);
    assert.equal(await s.accounts.deleteUserPolicy(ACCOUNT, 'bob', 'alpha'), false);

    await s.accounts.putAccessKey(key('AKIABOB00000000000B1', { userName: 'bob' }));
    await s.accounts.putAccessKey(key('AKIAROOT0000000000A1'));
    assert.equal(await s.accounts.deleteUser(ACCOUNT, 'bob'), true);
    assert.equal(await s.accounts.deleteUser(ACCOUNT, 'bob'), false);
    assert.equal(await s.accounts.getUser(ACCOUNT, 'bob'), null);
    assert.equal(await s.accounts.getAccessKey('AKIABOB00000000000B1'), null, "the user's keys go with it");
    assert.notEqual(await s.accounts.getAccessKey('AKIAROOT0000000000A1'), null, 'the root key stays');
    assert.deepEqual(await s.accounts.listUserPolicies(ACCOUNT, 'bob'), []);
    // A user made again with the same name starts without the old policies.
    await s.accounts.createUser(ACCOUNT, 'bob', 5);
    assert.equal(await s.accounts.getUserPolicy(ACCOUNT, 'bob', 'zeta'), null);
  });
}
