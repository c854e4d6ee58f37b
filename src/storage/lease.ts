import { randomBytes } from 'node:crypto';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { MetadataStore } from './metadata/types.js';

/**
 * The per-process heartbeat of #12's leases (docs/architecture.md, "Storage seam"). A process
 * holds two kinds of lease in the metadata store, both in domain time (the injected clock) and
 * both under one owner id:
 * - pending blobs it is writing (`store.blobs.begin(key, leases.owner, leases.until())`), which a
 *   sweep turns into garbage once `lease_until` has passed (`reapExpiredPending`);
 * - job queue entries it has claimed (`store.jobs.claimDue(now, leases.owner, leases.leaseMs, n)`),
 *   which another worker may claim once `claimed_until` has passed.
 * While the process lives, `renew()` pushes both to `clock.now() + leaseMs`:
 * `store.blobs.renewPending(owner, t)` and `store.jobs.renewClaims(owner, t)`.
 *
 * API:
 * - `new Leases(store, clock, { leaseMs, owner?, log? })`: `owner` defaults to a fresh random id.
 * - `owner`, `leaseMs`: what to pass to `begin` / `claimDue` (as the worker id).
 * - `until()`: `clock.now() + leaseMs`, the lease to give `begin`.
 * - `renew()`: renews every lease of `owner` now; resolves to how many pending blobs and claims
 *   were renewed. Both store calls are issued before the first await, so with the synchronous
 *   SQLite store they have run when `renew()` returns.
 * - `start()`: renews every `leaseMs / 3` (an unref'd timer, so it never keeps the process alive)
 *   and, when the clock has `onAdvance` (OffsetClock, ManualClock), right after every jump of the
 *   clock, so that advancing the clock past a lease does not make this live process's leases lapse.
 *   Start it before anything that reacts to clock jumps by claiming (the job engine): onAdvance
 *   listeners run in registration order. Idempotent.
 * - `stop()`: stops both and waits for a renewal in flight. The leases are then left to lapse.
 * A failed renewal (timer or clock jump) is logged, not thrown; the next one tries again.
 */
export class Leases {
  readonly owner: string;
  readonly leaseMs: number;
  readonly #store: MetadataStore;
  readonly #clock: Clock & { onAdvance?: (listener: () => void) => () => void };
  readonly #log: Logger | undefined;
  #timer: NodeJS.Timeout | null = null;
  #unlisten: (() => void) | null = null;
  #inflight: Promise<unknown> = Promise.resolve();

  constructor(store: MetadataStore, clock: Clock, opts: { leaseMs: number; owner?: string; log?: Logger }) {
    if (!(Number.isSafeInteger(opts.leaseMs) && opts.leaseMs >= 3)) throw new RangeError(`Invalid lease length ${opts.leaseMs}`);
    this.#store = store;
    this.#clock = clock;
    this.leaseMs = opts.leaseMs;
    this.owner = opts.owner ?? randomBytes(12).toString('hex');
    this.#log = opts.log;
  }

  until(): number {
    return this.#clock.now() + this.leaseMs;
  }

  renew(): Promise<{ blobs: number; claims: number }> {
    const t = this.until();
    const p = Promise.all([this.#store.blobs.renewPending(this.owner, t), this.#store.jobs.renewClaims(this.owner, t)]).then(([blobs, claims]) => ({ blobs, claims }));
    this.#inflight = p.catch(() => {});
    return p;
  }

  #renewLogged(): void {
    this.renew().catch((err: unknown) => this.#log?.warn({ err }, 'lease renewal failed'));
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.#renewLogged(), Math.floor(this.leaseMs / 3));
    this.#timer.unref();
    if (typeof this.#clock.onAdvance === 'function') this.#unlisten = this.#clock.onAdvance(() => this.#renewLogged());
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#unlisten?.();
    this.#unlisten = null;
    await this.#inflight;
  }
}
