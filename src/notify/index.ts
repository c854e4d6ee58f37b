import type { Config } from '../config/schema.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { OutboxRepo } from '../storage/metadata/types.js';
import { SinkRouter } from './sinks.js';
import { NotificationWorker } from './worker.js';

export { NotificationWorker } from './worker.js';
export { SinkRouter } from './sinks.js';

/** The outbox worker as configured (not started). */
export function createNotificationWorker(opts: { config: Config; clock: Clock; log: Logger; outbox: OutboxRepo }): NotificationWorker {
  const { config, clock, log, outbox } = opts;
  return new NotificationWorker({
    outbox,
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
