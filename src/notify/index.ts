import type { Config } from '../config/schema.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { OutboxRepo, Signals } from '../storage/metadata/types.js';
import { SinkRouter } from './sinks.js';
import { NotificationWorker } from './worker.js';

export { NotificationWorker } from './worker.js';
export { SinkRouter } from './sinks.js';

/**
 * The outbox worker as configured (not started). `signals` wakes it when any process sharing the
 * store writes outbox rows; `exclusive` (openStorage) lets its start-up reschedule every pending row.
 */
export function createNotificationWorker(opts: { config: Config; clock: Clock; log: Logger; outbox: OutboxRepo; signals: Signals; exclusive: boolean }): NotificationWorker {
  const { config, clock, log, outbox, signals, exclusive } = opts;
  return new NotificationWorker({
    outbox,
    signals,
    exclusive,
    router: new SinkRouter(config.notifySinks, { log, timeoutMs: config.notifyTimeout }),
    clock,
    log,
    pollMs: config.notifyPollInterval,
    retryBaseMs: config.notifyRetryBase,
    retryMaxMs: config.notifyRetryMax,
    timeoutMs: config.notifyTimeout,
    warnAfter: config.notifyWarnAfter,
  });
}
