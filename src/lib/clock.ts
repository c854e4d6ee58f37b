/**
 * The only source of "now" in Firn. Handlers, the job engine and stores read time from a Clock
 * so that tests (and the test-control API) can move time instead of sleeping.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }
}

/**
 * Wall-clock time plus an adjustable offset. The server uses this one: the test-control API
 * (off by default) can advance it, and everything that reads the clock sees the jump.
 */
export class OffsetClock implements Clock {
  #offsetMs = 0;
  #listeners = new Set<() => void>();

  now(): number {
    return Date.now() + this.#offsetMs;
  }

  get offsetMs(): number {
    return this.#offsetMs;
  }

  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('the clock only moves forward');
    this.#offsetMs += ms;
    for (const l of this.#listeners) l();
  }

  /** Back to real time (the test-control API's clock/reset). */
  reset(): void {
    this.#offsetMs = 0;
    for (const l of this.#listeners) l();
  }

  /** Called after every advance() and reset(); the job engine uses it to wake up at once. */
  onAdvance(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/** A fully manual clock for unit and API tests. */
export class ManualClock extends OffsetClock {
  #t: number;
  constructor(start: number | Date = Date.UTC(2026, 0, 15, 12, 0, 0)) {
    super();
    this.#t = typeof start === 'number' ? start : start.getTime();
  }
  override now(): number {
    return this.#t + this.offsetMs;
  }
}

export function isoMs(ms: number): string {
  return new Date(ms).toISOString();
}

/** Second precision, as used inside inventory output: `2012-08-23T19:08:30Z`. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
