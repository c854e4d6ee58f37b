import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, linkSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import type { AccessKeyRecord, AccountRepo, UserPolicyRecord } from '../storage/metadata/types.js';

/**
 * Secret access keys at rest. SigV4 verification computes an HMAC keyed by the secret itself, so
 * the server must be able to recover it: a one-way hash cannot work (docs/security.md). Firn
 * therefore encrypts each secret with AES-256-GCM under a master key kept in a separate file
 * (FIRN_MASTER_KEY_FILE, by default `<data dir>/master.key`, mode 0600), so a copy of the database
 * alone does not reveal any secret. The access key id is the additional authenticated data: a ciphertext moved to
 * another key's row fails to decrypt.
 */
export const SECRET_PREFIX = 'v1:';

export class SecretBox {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('the master key must be 32 bytes');
    this.#key = key;
  }

  static ephemeral(): SecretBox {
    return new SecretBox(randomBytes(32));
  }

  /**
   * Reads the master key file, creating it (32 random bytes, hex, mode 0600, fsynced) when it
   * does not exist and `create` is true.
   */
  static fromFile(path: string, create: boolean): SecretBox {
    if (!existsSync(path)) {
      if (!create) throw new Error(`the master key file ${path} is missing; without it the stored access keys cannot be decrypted`);
      // Written to a temporary file, then hard-linked into place: link() fails if the name exists,
      // so a server and an admin command opening a fresh data directory at once agree on one key,
      // and nobody ever reads a half-written file.
      const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
      const fd = openSync(tmp, 'wx', 0o600);
      try {
        writeSync(fd, randomBytes(32).toString('hex') + '\n');
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      try {
        linkSync(tmp, path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      } finally {
        unlinkSync(tmp);
      }
    }
    const hex = readFileSync(path, 'utf8').trim();
    if (!/^[0-9a-f]{64}$/i.test(hex)) throw new Error(`the master key file ${path} is malformed (expected 64 hex characters)`);
    return new SecretBox(Buffer.from(hex, 'hex'));
  }

  static isSealed(stored: string): boolean {
    return stored.startsWith(SECRET_PREFIX);
  }

  seal(secret: string, aad: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.#key, iv);
    c.setAAD(Buffer.from(aad, 'utf8'));
    const ct = Buffer.concat([c.update(secret, 'utf8'), c.final()]);
    return `${SECRET_PREFIX}${iv.toString('base64url')}:${c.getAuthTag().toString('base64url')}:${ct.toString('base64url')}`;
  }

  /** null when the value was not sealed by this key for this aad. */
  open(stored: string, aad: string): string | null {
    if (!SecretBox.isSealed(stored)) return null;
    const [iv, tag, ct] = stored.slice(SECRET_PREFIX.length).split(':');
    if (iv === undefined || tag === undefined || ct === undefined) return null;
    try {
      const d = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(iv, 'base64url'));
      d.setAAD(Buffer.from(aad, 'utf8'));
      d.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([d.update(Buffer.from(ct, 'base64url')), d.final()]).toString('utf8');
    } catch {
      return null;
    }
  }
}

/**
 * The account repository as the rest of Firn sees it: secrets are sealed on the way in and opened
 * on the way out, and a key whose secret this master key cannot open is treated as absent.
 * Metadata backends store the sealed text as given, so none of them handles keys or ciphers.
 */
export class SealedAccountRepo implements AccountRepo {
  readonly #raw: AccountRepo;
  readonly #box: SecretBox;

  readonly #keyFile: string;

  constructor(raw: AccountRepo, box: SecretBox, keyFile = '(in memory)') {
    this.#raw = raw;
    this.#box = box;
    this.#keyFile = keyFile;
  }

  /**
   * Opened secrets by (access key id, sealed text): every request reads its key's row, and AES-GCM
   * per request cost more than the query. Keyed by the stored text itself, so a rotated or
   * re-sealed secret is a miss; the row (and with it the key's status) is still read every time.
   */
  readonly #opened = new Map<string, string>();

  #open(k: AccessKeyRecord | null): AccessKeyRecord | null {
    if (!k) return null;
    const cacheKey = k.accessKeyId + '\u0000' + k.secret;
    let secret: string | null | undefined = this.#opened.get(cacheKey);
    if (secret === undefined) {
      secret = this.#box.open(k.secret, k.accessKeyId);
      if (secret === null) return null;
      if (this.#opened.size >= 1000) this.#opened.delete(this.#opened.keys().next().value!);
      this.#opened.set(cacheKey, secret);
    }
    return { ...k, secret };
  }

  #openAll(keys: AccessKeyRecord[]): AccessKeyRecord[] {
    return keys.map((k) => this.#open(k)).filter((k): k is AccessKeyRecord => k !== null);
  }

  async getAccessKey(accessKeyId: string) {
    return this.#open(await this.#raw.getAccessKey(accessKeyId));
  }
  async putAccessKey(k: AccessKeyRecord) {
    // Never replace a secret sealed under another master key: that is a process configured with a
    // different FIRN_MASTER_KEY_FILE than the others sharing this database, which would lock them out.
    const current = await this.#raw.getAccessKey(k.accessKeyId);
    if (current && SecretBox.isSealed(current.secret) && this.#box.open(current.secret, current.accessKeyId) === null) {
      throw new MasterKeyMismatchError(this.#keyFile, `the stored secret of ${k.accessKeyId}`);
    }
    await this.#raw.putAccessKey({ ...k, secret: this.#box.seal(k.secret, k.accessKeyId) });
  }
  async findRootKeys() {
    return this.#openAll(await this.#raw.findRootKeys());
  }
  async listAccessKeys(accountId: string, userName?: string | null) {
    return this.#openAll(await this.#raw.listAccessKeys(accountId, userName));
  }

  ensureAccount(accountId: string, now: number) {
    return this.#raw.ensureAccount(accountId, now);
  }
  listAccounts() {
    return this.#raw.listAccounts();
  }
  accountExists(accountId: string) {
    return this.#raw.accountExists(accountId);
  }
  createUser(accountId: string, userName: string, now: number) {
    return this.#raw.createUser(accountId, userName, now);
  }
  getUser(accountId: string, userName: string) {
    return this.#raw.getUser(accountId, userName);
  }
  listUsers(accountId: string) {
    return this.#raw.listUsers(accountId);
  }
  deleteUser(accountId: string, userName: string) {
    return this.#raw.deleteUser(accountId, userName);
  }
  setAccessKeyStatus(accessKeyId: string, status: 'Active' | 'Inactive') {
    return this.#raw.setAccessKeyStatus(accessKeyId, status);
  }
  deleteAccessKey(accessKeyId: string) {
    return this.#raw.deleteAccessKey(accessKeyId);
  }
  putUserPolicy(p: UserPolicyRecord) {
    return this.#raw.putUserPolicy(p);
  }
  getUserPolicy(accountId: string, userName: string, policyName: string) {
    return this.#raw.getUserPolicy(accountId, userName, policyName);
  }
  listUserPolicies(accountId: string, userName: string) {
    return this.#raw.listUserPolicies(accountId, userName);
  }
  deleteUserPolicy(accountId: string, userName: string, policyName: string) {
    return this.#raw.deleteUserPolicy(accountId, userName, policyName);
  }
}

/**
 * Stored secrets this master key cannot open: the process was given another key than the one
 * they were sealed with (processes sharing one database need the same FIRN_MASTER_KEY_FILE).
 */
export class MasterKeyMismatchError extends Error {
  constructor(keyFile: string, what: string) {
    super(
      `the master key ${keyFile} does not open ${what}: ` +
        'it was sealed with another master key (every process sharing one database needs the same FIRN_MASTER_KEY_FILE)',
    );
  }
}

/**
 * Opens the master key and returns `raw` wrapped to seal secrets. Refuses (MasterKeyMismatchError)
 * a key that cannot open every stored secret, rather than serving with some keys silently absent. The key file is created only
 * while no sealed secret is stored: a new key could never open existing ones, so a missing file is
 * then refused. Secrets stored in plain text (data directories from before encryption at rest)
 * are sealed here, one row at a time; a run cut short leaves the rest for the next start.
 */
export async function sealedAccounts(raw: AccountRepo, keyFile: string): Promise<SealedAccountRepo> {
  const keys: AccessKeyRecord[] = [];
  for (const a of await raw.listAccounts()) keys.push(...(await raw.listAccessKeys(a.accountId)));
  const box = SecretBox.fromFile(keyFile, !keys.some((k) => SecretBox.isSealed(k.secret)));
  const foreign = keys.filter((k) => SecretBox.isSealed(k.secret) && box.open(k.secret, k.accessKeyId) === null).length;
  if (foreign > 0) throw new MasterKeyMismatchError(keyFile, `${foreign} of the ${keys.length} secret keys stored in the metadata`);
  const sealed = new SealedAccountRepo(raw, box, keyFile);
  for (const k of keys) if (!SecretBox.isSealed(k.secret)) await sealed.putAccessKey(k);
  return sealed;
}
