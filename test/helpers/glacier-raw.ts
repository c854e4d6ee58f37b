import { createCipheriv, createHash } from 'node:crypto';
import { signedRequest, type RawResponse } from './server.js';
import { treeHash } from '../../src/domain/treehash.js';

/**
 * Thin Glacier client over `signedRequest` (independently signed with @smithy/signature-v4), for
 * tests that need to know exactly which requests got which answer (crash tests, benchmarks).
 * The linear SHA-256 is computed with node:crypto and passed as `x-amz-content-sha256`, which the
 * signer then uses as the payload hash (the pure-JS Sha256 would dominate the run time).
 */
export class RawGlacier {
  constructor(readonly url: string, readonly vault: string) {}

  #path(rest = ''): string {
    return `/-/vaults/${encodeURIComponent(this.vault)}${rest}`;
  }

  req(method: string, rest: string, opts: { headers?: Record<string, string>; body?: Buffer | string; query?: Record<string, string> } = {}): Promise<RawResponse> {
    const headers = { ...opts.headers };
    if (opts.body !== undefined) headers['x-amz-content-sha256'] ??= sha256Hex(opts.body);
    return signedRequest(this.url, {
      method,
      path: this.#path(rest),
      headers,
      ...(opts.body !== undefined ? { body: opts.body } : {}),
      ...(opts.query ? { query: opts.query } : {}),
    });
  }

  createVault(): Promise<RawResponse> {
    return this.req('PUT', '');
  }

  uploadArchive(body: Buffer, description: string, hashes?: { treeHash: string; sha256: string }): Promise<RawResponse> {
    return this.req('POST', '/archives', {
      body,
      headers: {
        'x-amz-archive-description': description,
        'x-amz-sha256-tree-hash': hashes?.treeHash ?? treeHash(body),
        'x-amz-content-sha256': hashes?.sha256 ?? sha256Hex(body),
      },
    });
  }

  initiateMultipart(partSize: number, description: string): Promise<RawResponse> {
    return this.req('POST', '/multipart-uploads', { headers: { 'x-amz-part-size': String(partSize), 'x-amz-archive-description': description } });
  }

  uploadPart(uploadId: string, start: number, body: Buffer): Promise<RawResponse> {
    return this.req('PUT', `/multipart-uploads/${uploadId}`, {
      body,
      headers: {
        'content-range': `bytes ${start}-${start + body.length - 1}/*`,
        'x-amz-sha256-tree-hash': treeHash(body),
        'content-type': 'application/octet-stream',
      },
    });
  }

  completeMultipart(uploadId: string, size: number, archiveTreeHash: string): Promise<RawResponse> {
    return this.req('POST', `/multipart-uploads/${uploadId}`, {
      headers: { 'x-amz-archive-size': String(size), 'x-amz-sha256-tree-hash': archiveTreeHash },
    });
  }

  /** Every part of an upload, following `Marker`; the raw response if the upload is not there. */
  async listAllParts(uploadId: string): Promise<{ parts: { RangeInBytes: string; SHA256TreeHash: string }[] } | { response: RawResponse }> {
    const parts: { RangeInBytes: string; SHA256TreeHash: string }[] = [];
    let marker: string | null = null;
    for (let page = 0; page < 1000; page++) {
      const r = await this.req('GET', `/multipart-uploads/${uploadId}`, { query: marker ? { marker } : {} });
      if (r.status !== 200) return { response: r };
      const j = r.json();
      parts.push(...j.Parts);
      marker = j.Marker;
      if (!marker) break;
    }
    return { parts };
  }

  initiateJob(params: Record<string, unknown>): Promise<RawResponse> {
    return this.req('POST', '/jobs', { body: JSON.stringify(params), headers: { 'content-type': 'application/json' } });
  }

  describeJob(jobId: string): Promise<RawResponse> {
    return this.req('GET', `/jobs/${jobId}`);
  }

  getJobOutput(jobId: string, range?: string): Promise<RawResponse> {
    return this.req('GET', `/jobs/${jobId}/output`, range ? { headers: { range } } : {});
  }

  /** Polls DescribeJob until Completed (the engine runs due jobs on its own; no clock is moved here). */
  async waitJob(jobId: string, timeoutMs = 60_000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (let delay = 10; ; delay = Math.min(delay * 2, 250)) {
      const r = await this.describeJob(jobId);
      if (r.status !== 200) throw new Error(`DescribeJob ${jobId}: ${r.status} ${r.body.toString()}`);
      const j = r.json();
      if (j.Completed) return j;
      if (Date.now() > deadline) throw new Error(`job ${jobId} still ${j.StatusCode} after ${timeoutMs} ms`);
      await new Promise((res) => setTimeout(res, delay));
    }
  }
}

export function sha256Hex(b: Buffer | string): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Deterministic pseudo-random bytes (AES-128-CTR keystream keyed by the seed). */
export function seededBytes(seed: string, size: number): Buffer {
  const key = createHash('sha256').update(seed).digest();
  const c = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
  return c.update(Buffer.alloc(size));
}
