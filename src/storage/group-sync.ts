import { fsync } from 'node:fs';

/**
 * fsync(2) of one file or directory, shared by the callers that ask while one is under way (group
 * commit). `sync()` resolves only after an fsync that *started after the call* has completed, so
 * everything the caller wrote before calling is on disk: a caller arriving while an fsync runs
 * waits for the next one, which every caller arriving meanwhile shares. The fsync runs on the
 * libuv pool, so the main thread is free meanwhile.
 *
 * `fd()` gives the descriptor at the start of each fsync (it may reopen the file, see
 * WalDurability); it may throw, which rejects that round.
 */
export class GroupSync {
  readonly #fd: () => number;
  readonly #fsync: (fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => void;
  #running: Promise<void> | null = null;
  #next: Promise<void> | null = null;

  constructor(fd: () => number, fsyncImpl: (fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => void = fsync) {
    this.#fd = fd;
    this.#fsync = fsyncImpl;
  }

  sync(): Promise<void> {
    if (!this.#running) return this.#start();
    // The running fsync may have started before the caller's writes: wait for the next one.
    this.#next ??= this.#running.then(this.#restart, this.#restart);
    return this.#next;
  }

  readonly #restart = (): Promise<void> => {
    this.#next = null;
    return this.#start();
  };

  #start(): Promise<void> {
    const p = new Promise<void>((resolve, reject) => {
      this.#fsync(this.#fd(), (err) => (err ? reject(err) : resolve()));
    });
    this.#running = p;
    const clear = () => {
      if (this.#running === p) this.#running = null;
    };
    p.then(clear, clear);
    return p;
  }

  /** Resolves when no fsync is under way or queued. */
  async idle(): Promise<void> {
    while (this.#running || this.#next) await Promise.allSettled([this.#running, this.#next]);
  }
}
