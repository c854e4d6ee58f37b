import type { Config } from './config/schema.js';
import { OffsetClock, SystemClock, type Clock } from './lib/clock.js';
import { formatDuration } from './config/schema.js';
import type { Logger } from './lib/logger.js';
import type { MetadataStore } from './storage/metadata/types.js';
import { openStorage } from './storage/index.js';
import { PolicyAuthorizer, type Authorizer } from './auth/authorize.js';
import type { BlobStore } from './storage/blobs/types.js';
import { BlobMaintenance } from './storage/blobs/maintenance.js';
import { createNotificationWorker, type NotificationWorker } from './notify/index.js';
import { JobEngine } from './jobs/engine.js';
import { BackgroundScrub } from './storage/scrub.js';
import { Metrics } from './lib/metrics.js';
import { DiskSpace } from './storage/space.js';
import { Leases } from './storage/lease.js';

/**
 * Everything a request handler may use. Built once by `createApp` (the composition root) and
 * passed down; no module reaches for process.env, globals or the wall clock.
 */
export interface App {
  readonly config: Config;
  /** Domain time: job delays, expiries, dates in responses. The test-control API can advance it. */
  readonly clock: Clock;
  /**
   * Real time, used only where the outside world's clock matters: the SigV4 ±15 minute window
   * and the HTTP Date header. Keeping it apart from `clock` means advancing domain time (to
   * finish a 4-hour job now) does not make every client's signature "expired".
   */
  readonly wallClock: Clock;
  readonly log: Logger;
  readonly store: MetadataStore;
  /**
   * Whether this process is the only one using the storage (openStorage: embedded SQLite). Only
   * then does start-up void what a previous run left: every job claim, the outbox schedule, every
   * pending blob and the blob store's temp area. A shared store leaves that to leases.
   */
  readonly exclusive: boolean;
  /**
   * This process's leases (FIRN_LEASE, domain time): its job claims and the blobs it is writing,
   * under one owner id, renewed by a heartbeat every third of the lease and on every clock jump.
   */
  readonly leases: Leases;
  readonly authorizer: Authorizer;
  /** Archive and part bytes; the fs store lives under `<dataDir>/blobs`. */
  readonly blobs: BlobStore;
  /** Expires idle uploads and deletes unreferenced blobs (`sweep()`, `collect()`; tests call them directly). */
  readonly blobMaintenance: BlobMaintenance;
  /**
   * Delivers the notification outbox. Started by startServer; `wake()` after writing
   * outbox rows delivers them at once, `deliverDue()` does it synchronously (tests).
   */
  readonly notifier: NotificationWorker;
  /**
   * The job engine. Started by startServer; `kick()` after InitiateJob, `runDue()` runs
   * every due job synchronously (tests).
   */
  readonly jobs: JobEngine;
  /**
   * The background scrub (FIRN_SCRUB_INTERVAL; idle when 0). `onFinding(listener)` hears of every
   * damaged archive or part it finds; `runPass()` runs one pass now.
   */
  readonly scrubber: BackgroundScrub;
  /** Prometheus metrics: requests are recorded by the HTTP layer, storage figures read per scrape. */
  readonly metrics: Metrics;
  /** Free space on the data directory and the reserve that uploads may not eat into. */
  readonly space: DiskSpace;
  /** Closes everything the app opened, in reverse order. */
  close(): Promise<void>;
}

export interface AppOptions {
  config: Config;
  clock: Clock;
  wallClock?: Clock;
  log: Logger;
}

export async function createApp(opts: AppOptions): Promise<App> {
  const { config, clock, log } = opts;
  const { metadata: store, blobs, exclusive } = await openStorage(config);
  const stopPersistingClock = clock instanceof OffsetClock ? await persistClockOffset(store, clock, log, config.testControl) : () => {};
  const authorizer = new PolicyAuthorizer(store, log);
  const wallClock = opts.wallClock ?? new SystemClock();
  const blobMaintenance = new BlobMaintenance(store, blobs, clock, log, {
    uploadIdleMs: config.uploadIdleExpiry,
    finishedRetentionMs: config.uploadIdleExpiry,
    wallClock,
  });
  try {
    // Before anything listens. Exclusive: no write is in flight, so every pending blob and temp
    // file is a leftover. Shared: other servers' pending blobs are left to their leases.
    await blobMaintenance.startup({ exclusive });
  } catch (e) {
    stopPersistingClock();
    await store.close();
    throw e;
  }
  // Started before the job engine listens to clock jumps, so that a jump renews this process's
  // leases before the engine claims (onAdvance listeners run in registration order).
  const leases = new Leases(store, clock, { leaseMs: config.lease, log });
  leases.start();
  blobMaintenance.start(config.uploadSweepInterval);
  const notifier = createNotificationWorker({ config, clock, log, outbox: store.outbox, signals: store.signals, exclusive });
  const scrubber = new BackgroundScrub({ store, blobs, log, intervalMs: config.scrubInterval, bytesPerSecond: config.scrubReadRate * 1024 * 1024 });
  scrubber.start();
  const jobs = new JobEngine({
    config,
    clock,
    log,
    store,
    blobs,
    leases,
    exclusive,
    onOutbox: () => notifier.wake(),
    onGarbage: () => blobMaintenance.kick(),
  });
  const metrics = new Metrics(async () => ({ stats: await store.stats.snapshot(), now: clock.now() }));
  scrubber.onFinding((f) => metrics.recordScrubFinding(`${f.kind}_${f.reason}`));
  return {
    config,
    clock,
    wallClock,
    log,
    store,
    exclusive,
    leases,
    authorizer,
    blobs,
    blobMaintenance,
    notifier,
    jobs,
    scrubber,
    metrics,
    space: new DiskSpace(config.dataDir, config.freeSpaceReserve, log),
    async close() {
      stopPersistingClock();
      await scrubber.stop();
      await jobs.stop();
      await blobMaintenance.stop();
      await notifier.stop();
      // Last: nothing writes any more. The leases are left to lapse (an exclusive restart voids them at once).
      await leases.stop();
      await blobs.close();
      await store.close();
    },
  };
}

const CLOCK_OFFSET_KEY = 'clock.offsetMs';

/**
 * Domain time moved forward through the test-control API stays moved across a restart: jobs
 * scheduled on the advanced clock would otherwise wait in real time after a kill -9.
 */
async function persistClockOffset(store: MetadataStore, clock: OffsetClock, log: Logger, testControl: boolean): Promise<() => void> {
  const saved = Number((await store.state.get(CLOCK_OFFSET_KEY)) ?? 0);
  if (Number.isFinite(saved) && saved > clock.offsetMs) {
    clock.advance(saved - clock.offsetMs);
    if (testControl) log.info({ offsetMs: clock.offsetMs }, 'domain clock offset restored');
    else {
      // Job completion and every expiry follow this clock: say so, since nothing else would.
      log.warn(
        { offsetMs: clock.offsetMs },
        `domain clock is ${formatDuration(clock.offsetMs)} ahead of real time (moved by the test-control API in an earlier run); ` +
          'to clear it, start once with FIRN_TEST_CONTROL=true and POST /_firn/test/clock/reset',
      );
    }
  }
  return clock.onAdvance(() => {
    store.state.put(CLOCK_OFFSET_KEY, String(clock.offsetMs)).catch((err: unknown) => log.warn({ err }, 'could not save the clock offset'));
  });
}
