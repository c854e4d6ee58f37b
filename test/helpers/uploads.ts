import { createHash } from 'node:crypto';
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { treeHash } from '../../src/domain/treehash.js';
import type { RawResponse, TestServer } from './server.js';

export const sha256Hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export interface UploadOpts {
  treeHash?: string;
  contentSha256?: string;
  description?: string;
  headers?: Record<string, string>;
}

/** UploadArchive as botocore sends it: both hashes computed unless overridden. */
export function uploadArchive(s: TestServer, vault: string, data: Buffer, o: UploadOpts = {}): Promise<RawResponse> {
  return s.request({
    method: 'POST',
    path: `/-/vaults/${vault}/archives`,
    body: data,
    headers: {
      'x-amz-content-sha256': o.contentSha256 ?? sha256Hex(data),
      'x-amz-sha256-tree-hash': o.treeHash ?? treeHash(data),
      ...(o.description !== undefined ? { 'x-amz-archive-description': o.description } : {}),
      ...o.headers,
    },
  });
}

export function uploadPart(s: TestServer, vault: string, uploadId: string, start: number, data: Buffer, o: UploadOpts = {}): Promise<RawResponse> {
  return s.request({
    method: 'PUT',
    path: `/-/vaults/${vault}/multipart-uploads/${uploadId}`,
    body: data,
    headers: {
      'content-range': `bytes ${start}-${start + data.length - 1}/*`,
      'x-amz-content-sha256': o.contentSha256 ?? sha256Hex(data),
      'x-amz-sha256-tree-hash': o.treeHash ?? treeHash(data),
      ...o.headers,
    },
  });
}

/** Files in the fs blob store: committed blobs and temp files. */
export function blobFiles(s: TestServer): { data: string[]; tmp: string[] } {
  const root = join(s.dataDir, 'blobs');
  const data: string[] = [];
  if (existsSync(join(root, 'data'))) for (const d of readdirSync(join(root, 'data'))) for (const f of readdirSync(join(root, 'data', d))) data.push(f);
  const tmp = existsSync(join(root, 'tmp')) ? readdirSync(join(root, 'tmp')) : [];
  return { data, tmp };
}
