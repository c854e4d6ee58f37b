import type { MetadataStore, AccessKeyRecord } from '../storage/metadata/types.js';
import { parsePolicy, PolicyError } from './policy.js';
import { randomAccessKeyId, randomAccountId, randomSecret } from './bootstrap.js';

/**
 * Account, user, key and identity-policy administration: what `firn accounts|users|keys` do.
 * Works on a MetadataStore, so the same code serves the CLI (against the data directory) and
 * tests. Errors are AdminError with a message for a human.
 */
export class AdminError extends Error {}

/** IAM user names: 1–64 of letters, digits and `_+=,.@-`. */
export const USER_NAME_RE = /^[\w+=,.@-]{1,64}$/;
/** IAM policy names: 1–128 of the same characters. */
export const POLICY_NAME_RE = /^[\w+=,.@-]{1,128}$/;

export interface NewCredentials {
  accountId: string;
  userName: string | null;
  accessKeyId: string;
  secretAccessKey: string;
}

export async function createAccount(store: MetadataStore, accountId: string | undefined, now: number): Promise<NewCredentials> {
  const id = accountId ?? randomAccountId();
  if (!/^\d{12}$/.test(id)) throw new AdminError(`account id must be exactly 12 digits: ${id}`);
  if (await store.accounts.accountExists(id)) throw new AdminError(`account ${id} already exists`);
  await store.accounts.ensureAccount(id, now);
  return createAccessKey(store, id, null, now);
}

async function requireAccount(store: MetadataStore, accountId: string): Promise<void> {
  if (!(await store.accounts.accountExists(accountId))) throw new AdminError(`no such account: ${accountId}`);
}

async function requireUser(store: MetadataStore, accountId: string, userName: string): Promise<void> {
  await requireAccount(store, accountId);
  if (!(await store.accounts.getUser(accountId, userName))) throw new AdminError(`no such user in account ${accountId}: ${userName}`);
}

export async function createUser(store: MetadataStore, accountId: string, userName: string, now: number): Promise<void> {
  if (!USER_NAME_RE.test(userName)) throw new AdminError(`invalid user name "${userName}": use 1-64 letters, digits and _+=,.@-`);
  await requireAccount(store, accountId);
  if (!(await store.accounts.createUser(accountId, userName, now))) throw new AdminError(`user ${userName} already exists in account ${accountId}`);
}

export async function deleteUser(store: MetadataStore, accountId: string, userName: string): Promise<void> {
  if (!(await store.accounts.deleteUser(accountId, userName))) throw new AdminError(`no such user in account ${accountId}: ${userName}`);
}

/** A new Active key for the account root (userName null) or for a user. */
export async function createAccessKey(store: MetadataStore, accountId: string, userName: string | null, now: number): Promise<NewCredentials> {
  if (userName === null) await requireAccount(store, accountId);
  else await requireUser(store, accountId, userName);
  const key: AccessKeyRecord = { accessKeyId: randomAccessKeyId(), accountId, userName, secret: randomSecret(), status: 'Active', createdAt: now };
  await store.accounts.putAccessKey(key);
  return { accountId, userName, accessKeyId: key.accessKeyId, secretAccessKey: key.secret };
}

export async function setAccessKeyStatus(store: MetadataStore, accessKeyId: string, status: 'Active' | 'Inactive'): Promise<void> {
  if (!(await store.accounts.setAccessKeyStatus(accessKeyId, status))) throw new AdminError(`no such access key: ${accessKeyId}`);
}

export async function deleteAccessKey(store: MetadataStore, accessKeyId: string): Promise<void> {
  if (!(await store.accounts.deleteAccessKey(accessKeyId))) throw new AdminError(`no such access key: ${accessKeyId}`);
}

/** Validates the document as an identity policy (no Principal) and stores it byte-exact. */
export async function putUserPolicy(store: MetadataStore, accountId: string, userName: string, policyName: string, document: string, now: number): Promise<void> {
  if (!POLICY_NAME_RE.test(policyName)) throw new AdminError(`invalid policy name "${policyName}": use 1-128 letters, digits and _+=,.@-`);
  await requireUser(store, accountId, userName);
  if (Buffer.byteLength(document, 'utf8') > 2048 * 10) throw new AdminError('the policy document is larger than 20 KB');
  try {
    parsePolicy(document, 'identity');
  } catch (e) {
    if (e instanceof PolicyError) throw new AdminError(`invalid policy document: ${e.message}`);
    throw e;
  }
  await store.accounts.putUserPolicy({ accountId, userName, policyName, document, updatedAt: now });
}

export async function deleteUserPolicy(store: MetadataStore, accountId: string, userName: string, policyName: string): Promise<void> {
  if (!(await store.accounts.deleteUserPolicy(accountId, userName, policyName))) throw new AdminError(`user ${userName} has no policy named ${policyName}`);
}
