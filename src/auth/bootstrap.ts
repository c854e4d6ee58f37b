import { randomBytes, randomInt } from 'node:crypto';
import type { Config } from '../config/schema.js';
import type { MetadataStore } from '../storage/metadata/types.js';

export interface RootCredentials {
  accountId: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** True when this start generated them (they are printed once). */
  generated: boolean;
}

const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function randomAccessKeyId(): string {
  const b = randomBytes(16);
  let s = 'AKIA';
  for (let i = 0; i < 16; i++) s += UPPER_ALNUM[b[i]! & 31]!;
  return s;
}

export function randomSecret(): string {
  // 30 random bytes → 40 base64 characters, the shape of an AWS secret key.
  return randomBytes(30).toString('base64').replace(/\+/g, 'x').replace(/\//g, 'Z');
}

export function randomAccountId(): string {
  let s = String(randomInt(1, 10));
  for (let i = 0; i < 11; i++) s += String(randomInt(0, 10));
  return s;
}

/**
 * Root credentials come from FIRN_ACCOUNT_ID / FIRN_ROOT_ACCESS_KEY_ID /
 * FIRN_ROOT_SECRET_ACCESS_KEY when set (upserted, so a changed secret takes effect). When unset,
 * the first root key already in the data directory is used; on the very first start random
 * ones are generated and stored.
 */
export async function ensureRootCredentials(store: MetadataStore, config: Config, now: number): Promise<RootCredentials> {
  if (config.accountId) {
    // Written only when it changed, so that a server can start on a full disk.
    const current = await store.accounts.getAccessKey(config.rootAccessKeyId);
    const same =
      current?.accountId === config.accountId && current.userName === null && current.status === 'Active' && current.secret === config.rootSecretAccessKey;
    if (!same) {
      await store.accounts.ensureAccount(config.accountId, now);
      await store.accounts.putAccessKey({
        accessKeyId: config.rootAccessKeyId,
        accountId: config.accountId,
        userName: null,
        secret: config.rootSecretAccessKey,
        status: 'Active',
        createdAt: now,
      });
    }
    return { accountId: config.accountId, accessKeyId: config.rootAccessKeyId, secretAccessKey: config.rootSecretAccessKey, generated: false };
  }
  const existing = (await store.accounts.findRootKeys()).find((k) => k.status === 'Active');
  if (existing) {
    return { accountId: existing.accountId, accessKeyId: existing.accessKeyId, secretAccessKey: existing.secret, generated: false };
  }
  const creds = { accountId: randomAccountId(), accessKeyId: randomAccessKeyId(), secretAccessKey: randomSecret() };
  await store.accounts.ensureAccount(creds.accountId, now);
  await store.accounts.putAccessKey({ ...creds, secret: creds.secretAccessKey, userName: null, status: 'Active', createdAt: now });
  return { ...creds, generated: true };
}

export function exportLines(c: Pick<RootCredentials, 'accessKeyId' | 'secretAccessKey'>, region = 'us-east-1'): string {
  return [
    `export AWS_ACCESS_KEY_ID=${c.accessKeyId}`,
    `export AWS_SECRET_ACCESS_KEY=${c.secretAccessKey}`,
    `export AWS_DEFAULT_REGION=${region}`,
  ].join('\n');
}
