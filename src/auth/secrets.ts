import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, linkSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';

/**
 * Secret access keys at rest. SigV4 verification computes an HMAC keyed by the secret itself, so
 * the server must be able to recover it: a one-way hash cannot work (docs/security.md). Firn
 * therefore encrypts each secret with AES-256-GCM under a master key kept in a separate file
 * (`master.key`, mode 0600) beside the database, so a copy of the database alone does not reveal
 * any secret. The access key id is the additional authenticated data: a ciphertext moved to
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
