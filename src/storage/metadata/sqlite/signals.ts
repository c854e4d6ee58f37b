import { EventEmitter } from 'node:events';
import type { SignalChannel, Signals } from '../types.js';

/**
 * Signals of the SQLite store: in-process, since one server owns the database (embedded mode). The
 * repositories call `emit` after their transaction has committed; listeners run synchronously
 * then, each guarded so that a throwing listener neither fails the write nor silences the others.
 */
export class InProcessSignals implements Signals {
  readonly #emitter = new EventEmitter();

  constructor() {
    this.#emitter.setMaxListeners(0);
  }

  async listen(channel: SignalChannel, fn: () => void): Promise<() => Promise<void>> {
    const guarded = () => {
      try {
        fn();
      } catch (err) {
        process.emitWarning(`a '${channel}' signal listener threw: ${err instanceof Error ? err.message : String(err)}`);
      }
    };
    this.#emitter.on(channel, guarded);
    return async () => {
      this.#emitter.off(channel, guarded);
    };
  }

  emit(channel: SignalChannel): void {
    this.#emitter.emit(channel);
  }
}
