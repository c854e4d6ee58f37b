import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { OperationalStats } from '../storage/metadata/types.js';
import { VERSION } from './version.js';

/**
 * Prometheus metrics (served at GET /_firn/metrics). Label values come from small fixed sets
 * (operation names, HTTP status codes, error codes, job statuses, scrub finding kinds): never a
 * vault name, an archive or job id, or an access key, so the series count stays bounded.
 *
 * Request figures are counted in this process. Storage figures are read from the metadata store
 * at scrape time by queries that stay cheap however many archives there are (StatsRepo).
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #requests = new Counter({
    name: 'firn_http_requests_total',
    help: 'Glacier API requests by operation and HTTP status code.',
    labelNames: ['operation', 'code'] as const,
    registers: [this.registry],
  });
  readonly #errors = new Counter({
    name: 'firn_http_request_errors_total',
    help: 'Glacier API requests answered with an error, by operation and error code (e.g. AccessDeniedException).',
    labelNames: ['operation', 'error'] as const,
    registers: [this.registry],
  });
  readonly #duration = new Histogram({
    name: 'firn_http_request_duration_seconds',
    help: 'Time from request headers to the last response byte, by operation (uploads and downloads include the transfer).',
    labelNames: ['operation'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800],
    registers: [this.registry],
  });
  readonly #bytesIn = new Counter({
    name: 'firn_http_request_body_bytes_total',
    help: 'Request body bytes received (bodies read to the end), by operation.',
    labelNames: ['operation'] as const,
    registers: [this.registry],
  });
  readonly #bytesOut = new Counter({
    name: 'firn_http_response_bytes_total',
    help: 'Response bytes sent (headers and body), by operation.',
    labelNames: ['operation'] as const,
    registers: [this.registry],
  });
  readonly #scrubFindings = new Counter({
    name: 'firn_scrub_findings_total',
    help: 'Problems the scrubber found (e.g. missing or corrupt archive bytes), by kind.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly #gauges = {
    vaults: this.#gauge('firn_vaults', 'Vaults.'),
    archives: this.#gauge('firn_archives', 'Archives stored (live, not deleted).'),
    archiveBytes: this.#gauge('firn_archive_bytes', 'Bytes of the archives stored.'),
    jobQueueDepth: this.#gauge('firn_job_queue_depth', 'Jobs waiting in the queue or running.'),
    oldestDueAge: this.#gauge('firn_job_queue_oldest_due_age_seconds', 'How long the oldest due job has been due (0 when none is due); domain clock.'),
    outboxPending: this.#gauge('firn_notification_outbox_pending', 'Job notifications not yet delivered.'),
    outboxFailing: this.#gauge('firn_notification_outbox_failing', 'Undelivered job notifications whose delivery failed at least once.'),
    outboxOldestAge: this.#gauge('firn_notification_outbox_oldest_pending_age_seconds', 'Age of the oldest undelivered notification (0 when none); domain clock.'),
  };
  readonly #jobs = new Gauge({
    name: 'firn_jobs',
    help: 'Jobs inside their retention window by status (InProgress, Succeeded, Failed).',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });
  readonly #stats: () => Promise<{ stats: OperationalStats; now: number }>;

  constructor(stats: () => Promise<{ stats: OperationalStats; now: number }>) {
    this.#stats = stats;
    new Gauge({ name: 'firn_build_info', help: 'Firn version (value 1).', labelNames: ['version'] as const, registers: [this.registry] }).set({ version: VERSION }, 1);
  }

  #gauge(name: string, help: string): Gauge {
    return new Gauge({ name, help, registers: [this.registry] });
  }

  /** One finished API request. `operation` is a Glacier operation name (or Unknown when none matched). */
  recordRequest(r: { operation: string; status: number; seconds: number; bytesIn: number; bytesOut: number; errorCode?: string | undefined }): void {
    this.#requests.inc({ operation: r.operation, code: String(r.status) });
    if (r.errorCode !== undefined) this.#errors.inc({ operation: r.operation, error: r.errorCode });
    this.#duration.observe({ operation: r.operation }, r.seconds);
    if (r.bytesIn > 0) this.#bytesIn.inc({ operation: r.operation }, r.bytesIn);
    if (r.bytesOut > 0) this.#bytesOut.inc({ operation: r.operation }, r.bytesOut);
  }

  /**
   * Counts what the scrubber found. `kind` must come from a fixed set (e.g. `missing`,
   * `corrupt`, `orphan`), never an archive id or a path.
   */
  recordScrubFinding(kind: string, n = 1): void {
    this.#scrubFindings.inc({ kind }, n);
  }

  /** The Prometheus text exposition: Firn's metrics, then the process and Node.js defaults. */
  async render(): Promise<string> {
    const { stats: s, now } = await this.#stats();
    const g = this.#gauges;
    g.vaults.set(s.vaults);
    g.archives.set(s.archives);
    g.archiveBytes.set(s.archiveBytes);
    g.jobQueueDepth.set(s.jobQueueDepth);
    g.oldestDueAge.set(ageSeconds(s.oldestQueuedDueAt, now));
    g.outboxPending.set(s.outboxPending);
    g.outboxFailing.set(s.outboxFailing);
    g.outboxOldestAge.set(ageSeconds(s.outboxOldestPendingAt, now));
    this.#jobs.reset();
    for (const status of ['InProgress', 'Succeeded', 'Failed']) this.#jobs.set({ status }, s.jobsByStatus[status] ?? 0);
    return (await this.registry.metrics()) + (await processRegistry().metrics());
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

function ageSeconds(since: number | null, now: number): number {
  return since === null ? 0 : Math.max(0, (now - since) / 1000);
}

let processMetrics: Registry | null = null;

/** Process and Node.js metrics (CPU, memory, event loop lag, GC): one set per process, however many servers it runs. */
function processRegistry(): Registry {
  if (!processMetrics) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics });
  }
  return processMetrics;
}
