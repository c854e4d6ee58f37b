import pg from 'pg';
import { createHash } from 'node:crypto';
import type { SignalChannel, Signals } from '../types.js';
import type { Tx } from './db.js';

/** The NOTIFY channel of a signal in one schema (≤ 63 bytes: long schema names are hashed). */
export function channelName(schema: string, channel: SignalChannel): string {
  const plain = `firn_${channel}:${schema}`;
  return Buffer.byteLength(plain) <= 63 ? plain : `firn_${channel}:${createHash('sha256').update(schema).digest('hex').slice(0, 32)}`;
}

/** pg_notify inside the writing transaction: delivered to every listener at commit, not at all on rollback. */
export async function notify(c: Tx, schema: string, channel: SignalChannel): Promise<void> {
  await c.query('SELECT pg_notify($1, $2)', [channelName(schema, channel), '']);
}

const RECONNECT_MS = [100, 500, 1000, 2000, 5000];

/**
 * Signals over LISTEN/NOTIFY on one dedicated connection, opened with the first listener. A
 * dropped connection is logged and re-established (with back-off); listeners are then called once,
 * since signals may have been lost meanwhile (a signal is only a hint to re-read the store).
 */
export class PgSignals implements Signals {
  readonly #config: pg.ClientConfig;
  readonly #schema: () => string;
  readonly #listeners = new Map<SignalChannel, Set<() => void>>();
  #client: pg.Client | null = null;
  #connecting: Promise<pg.Client> | null = null;
  #closed = false;
  #retry: NodeJS.Timeout | null = null;

  constructor(config: pg.ClientConfig, schema: () => string) {
    this.#config = config;
    this.#schema = schema;
  }

  async listen(channel: SignalChannel, fn: () => void): Promise<() => Promise<void>> {
    if (this.#closed) throw new Error('the metadata store is closed');
    let set = this.#listeners.get(channel);
    const first = !set;
    if (!set) this.#listeners.set(channel, (set = new Set()));
    const entry = () => fn();
    set.add(entry);
    const c = await this.#connection();
    if (first) await c.query(`LISTEN ${pg.escapeIdentifier(channelName(this.#schema(), channel))}`);
    return async () => {
      set.delete(entry);
      if (set.size === 0 && this.#listeners.get(channel) === set) {
        this.#listeners.delete(channel);
        if (this.#client) await this.#client.query(`UNLISTEN ${pg.escapeIdentifier(channelName(this.#schema(), channel))}`).catch(() => {});
      }
    };
  }

  #dispatch(channelText: string): void {
    for (const [channel, set] of this.#listeners) {
      if (channelName(this.#schema(), channel) !== channelText) continue;
      for (const fn of [...set]) this.#call(channel, fn);
    }
  }

  #call(channel: SignalChannel, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      process.emitWarning(`a '${channel}' signal listener threw: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  #connection(): Promise<pg.Client> {
    if (this.#client) return Promise.resolve(this.#client);
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = null;
    });
    return this.#connecting;
  }

  async #connect(): Promise<pg.Client> {
    const c = new pg.Client(this.#config);
    c.on('notification', (n) => this.#dispatch(n.channel));
    c.on('error', (err) => this.#lost(c, err));
    c.on('end', () => this.#lost(c, null));
    await c.connect();
    for (const channel of this.#listeners.keys()) await c.query(`LISTEN ${pg.escapeIdentifier(channelName(this.#schema(), channel))}`);
    if (this.#closed) {
      await c.end().catch(() => {});
      throw new Error('the metadata store is closed');
    }
    this.#client = c;
    return c;
  }

  #lost(c: pg.Client, err: Error | null, attempt = 0): void {
    // A late event of a connection already replaced, or a retry overtaken by a new connection.
    if (attempt === 0 ? this.#client !== c : this.#client !== null) return;
    this.#client = null;
    if (this.#closed) return;
    if (attempt === 0) process.emitWarning(`PostgreSQL LISTEN connection lost${err ? `: ${err.message}` : ''}; reconnecting`);
    const delay = RECONNECT_MS[Math.min(attempt, RECONNECT_MS.length - 1)]!;
    this.#retry = setTimeout(() => {
      this.#retry = null;
      if (this.#closed || this.#listeners.size === 0) return;
      this.#connection().then(
        () => {
          // Signals sent while disconnected are lost: wake every listener once.
          for (const [channel, set] of this.#listeners) for (const fn of [...set]) this.#call(channel, fn);
        },
        (e: unknown) => {
          if (attempt === 0 || attempt % 10 === 0) process.emitWarning(`PostgreSQL LISTEN reconnect failed: ${e instanceof Error ? e.message : String(e)}`);
          this.#lost(c, null, attempt + 1);
        },
      );
    }, delay);
    this.#retry.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retry) clearTimeout(this.#retry);
    this.#listeners.clear();
    const c = this.#client ?? (this.#connecting ? await this.#connecting.catch(() => null) : null);
    this.#client = null;
    if (c) await c.end().catch(() => {});
  }
}
