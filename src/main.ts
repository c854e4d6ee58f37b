import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp, type App } from './app.js';
import type { Config } from './config/schema.js';
import { OffsetClock, type Clock } from './lib/clock.js';
import { createLogger, type Logger } from './lib/logger.js';
import { createHttpServer } from './http/server.js';
import { internalHandlers } from './http/internal.js';
import { ensureRootCredentials, type RootCredentials } from './auth/bootstrap.js';
import { lockDataDir } from './storage/data-dir.js';
import { exclusiveStorage } from './storage/index.js';
import { watchOldGeneration } from './lib/gc.js';

export interface RunningServer {
  app: App;
  server: Server;
  url: string;
  port: number;
  root: RootCredentials;
  /**
   * Stops accepting connections, lets requests in flight (uploads included) finish for up to
   * FIRN_SHUTDOWN_GRACE, cuts what is left, then closes storage and gives up the data directory.
   */
  close(): Promise<void>;
}

/**
 * Composition root, in an order chosen so that a start that fails changes nothing:
 * 1. own the data directory when the storage is exclusive (embedded SQLite; a second server on it
 *    stops here, having touched nothing); servers sharing a store lock nothing;
 * 2. claim the port (requests that arrive early wait for step 3);
 * 3. open storage (migrations, clean-up of what a crash left), root credentials;
 * 4. start the workers (notifications, jobs).
 * Used by `firn serve` and by the tests (with a test clock and a temp data directory).
 */
export async function startServer(config: Config, opts: { clock?: Clock; wallClock?: Clock; log?: Logger } = {}): Promise<RunningServer> {
  const clock = opts.clock ?? new OffsetClock();
  const log = opts.log ?? createLogger(config.logLevel);
  const lock = exclusiveStorage(config) ? lockDataDir(config.dataDir) : { release() {} };
  let resolveApp!: (app: App) => void;
  let rejectApp!: (e: unknown) => void;
  const appReady = new Promise<App>((res, rej) => ((resolveApp = res), (rejectApp = rej)));
  const server = createHttpServer(appReady, { internal: internalHandlers, headersTimeout: config.headersTimeout });
  let app: App | undefined;
  let root: RootCredentials;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    app = await createApp({ config, clock, log, ...(opts.wallClock ? { wallClock: opts.wallClock } : {}) });
    root = await ensureRootCredentials(app.store, config, clock.now());
    resolveApp(app);
    // Notifications left in the outbox by a previous run go out now.
    app.notifier.start();
    // Jobs queued before a restart (or a kill -9) are picked up here.
    await app.jobs.start();
  } catch (e) {
    rejectApp(e);
    server.closeAllConnections();
    if (server.listening) await new Promise((r) => server.close(r));
    await app?.close();
    lock.release();
    throw e;
  }
  const port = (server.address() as AddressInfo).port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;
  let closing: Promise<void> | null = null;
  const started = app;
  const stopGcWatch = watchOldGeneration();
  return {
    app: started,
    server,
    url,
    port,
    root,
    close() {
      closing ??= (async () => {
        const drained = new Promise<void>((r) => server.close(() => r()));
        // A keep-alive connection becomes idle when its response ends; close it then.
        server.closeIdleConnections();
        const idle = setInterval(() => server.closeIdleConnections(), 100);
        const cut = setTimeout(() => server.closeAllConnections(), config.shutdownGrace);
        try {
          await drained;
        } finally {
          clearInterval(idle);
          clearTimeout(cut);
        }
        await started.close();
        stopGcWatch();
        lock.release();
      })();
      return closing;
    },
  };
}
