import { isMiBAligned, isTreeHashAligned } from './treehash.js';

/** An inclusive byte range. */
export interface ByteRange {
  start: number;
  end: number;
}

export type RetrievalRangeResult = { ok: true; range: ByteRange } | { ok: false; message: string };

/**
 * InitiateJob `RetrievalByteRange` ("Start-End", inclusive). It must lie inside the archive and be
 * MiB aligned: Start % 1 MiB == 0, and (End+1) % 1 MiB == 0 or End == size−1 (DG api-initiate-job-post, DG checksum-calculations).
 */
export function parseRetrievalByteRange(raw: string, archiveSize: number): RetrievalRangeResult {
  // Any digit count: a value beyond 2^53 rounds, but it lies past any archive's end whatever it rounds to.
  const m = /^(\d+)-(\d+)$/.exec(raw);
  if (!m) return { ok: false, message: `Invalid RetrievalByteRange: ${raw}. The format is StartByteValue-EndByteValue.` };
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (start > end) return { ok: false, message: `Invalid RetrievalByteRange: ${raw}. The start must not be greater than the end.` };
  if (end >= archiveSize) {
    return { ok: false, message: `Invalid RetrievalByteRange: ${raw}. The range exceeds the archive size of ${archiveSize} bytes.` };
  }
  if (!isMiBAligned(start, end, archiveSize)) {
    return {
      ok: false,
      message: `Invalid RetrievalByteRange: ${raw}. The range must be megabyte (1048576 bytes) aligned: the start a multiple of 1 MiB, the end one byte before a multiple of 1 MiB or the last byte of the archive.`,
    };
  }
  return { ok: true, range: { start, end } };
}

export type HttpRangeResult = { kind: 'none' } | { kind: 'range'; range: ByteRange } | { kind: 'invalid'; message: string };

/**
 * GetJobOutput `Range: bytes=S-E`, relative to the job output of `total` bytes. One range only.
 * An end past EOF is clamped rather than refused: boto2 asks for whole 4 MiB chunks, the last one
 * past the end, and expects the data (DG api-job-output-get). `bytes=S-` and the suffix form `bytes=-N` are
 * accepted as in HTTP.
 */
export function parseHttpRange(header: string | undefined, total: number): HttpRangeResult {
  if (header === undefined || header.trim() === '') return { kind: 'none' };
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return { kind: 'invalid', message: `Invalid Range header: ${header}. The format is bytes=StartByteValue-EndByteValue.` };
  let start: number;
  let end: number;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return { kind: 'invalid', message: `The requested range is not satisfiable: ${header}` };
    start = Math.max(0, total - n);
    end = total - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? total - 1 : Number(m[2]);
    if (end < start) return { kind: 'invalid', message: `Invalid Range header: ${header}. The start must not be greater than the end.` };
    end = Math.min(end, total - 1);
  }
  if (start >= total) return { kind: 'invalid', message: `The requested range is not satisfiable: ${header} (the job output is ${total} bytes)` };
  return { kind: 'range', range: { start, end } };
}

/**
 * Whether a download of output bytes [start, end] of an archive retrieval carries
 * x-amz-sha256-tree-hash: the retrieval range must be tree-hash aligned and so must the download
 * range translated to archive offsets, i.e. plus the retrieval start (DG api-job-output-get, its four
 * cases; DG checksum-calculations).
 */
export function downloadIsTreeHashAligned(retrieval: ByteRange, download: ByteRange, archiveSize: number): boolean {
  if (!isTreeHashAligned(retrieval.start, retrieval.end + 1, archiveSize)) return false;
  const s = retrieval.start + download.start;
  const e = retrieval.start + download.end;
  if (e > retrieval.end) return false;
  return isTreeHashAligned(s, e + 1, archiveSize);
}
