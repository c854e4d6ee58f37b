import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp, type App } from './app.js';
import type { Config } from './config/schema.js';
import { OffsetClock, type Clock } from './lib/clock.js';
import { createLogger, type Logger } from './lib/logger.js';
import { createHttpServer } from './http/server.js';
import { internalHandlers } from './http/internal.js';
import { ensureRootCredentials, type RootCredentials } from './auth/bootstrap.js';

export interface RunningServer {
  app: App;
  server: Server;
  url: string;
  port: number;
  root: RootCredentials;
  close(): Promise<void>;
}

/**
 * Composition root: config → storage (migrated on open) → credentials → HTTP listen.
 * Used by `firn serve` and by the tests (with a test clock and a temp data directory).
 */
export async function startServer(config: Config, opts: { clock?: Clock; wallClock?: Clock; log?: Logger } = {}): Promise<RunningServer> {
  const clock = opts.clock ?? new OffsetClock();
  const log = opts.log ?? createLogger(config.logLevel);
  const app = await createApp({ config, clock, log, ...(opts.wallClock ? { wallClock: opts.wallClock } : {}) });
  let root: RootCredentials;
  try {
    root = await ensureRootCredentials(app.store, config, clock.now());
  } catch (e) {
    await app.close();
    throw e;
  }
  const server = createHttpServer(app, { internal: internalHandlers });
  // Notifications left in the outbox by a previous run go out now.
  app.notifier.start();
  // Jobs queued before a restart (or a kill -9) are picked up here.
  await app.jobs.start();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  let closed = false;
  return {
    app,
    server,
    url,
    port,
    root,
    async close() {
      if (closed) return;
      closed = true;
      server.closeIdleConnections();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      });
      await app.close();
    },
  };
}
