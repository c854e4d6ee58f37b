import type { Readable } from 'node:stream';

/**
 * Archive bytes. Issue #3 owns the implementations (fs now, S3 later) and may extend this; the job
 * system relies on `read`.
 */
export interface BlobReaderContract {
  /** Streams bytes [start, endExclusive) of a blob. */
  read(blobKey: string, start: number, endExclusive: number, signal?: AbortSignal): Readable;
}
