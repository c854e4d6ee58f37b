import { spawn, type ChildProcess } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { createReadStream, openSync, writeSync, closeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { awsEnv } from './clients.js';
import type { Creds } from './server.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ENTRY = fileURLToPath(new URL('./firn-cli.ts', import.meta.url));

/** The command line that runs the real `firn` CLI from the TypeScript sources. */
export const FIRN_ARGV = [process.execPath, '--import', 'tsx', ENTRY];

export interface FirnResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The last stdout line parsed as JSON (the commands' result), or null. */
  json: any;
}

/** Starts `firn <args…>` with the aws CLI's test environment (no config files). */
export function spawnFirn(args: string[], env: NodeJS.ProcessEnv): ChildProcess & { result: Promise<FirnResult> } {
  const p = spawn(FIRN_ARGV[0]!, [...FIRN_ARGV.slice(1), ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  p.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  p.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const result = new Promise<FirnResult>((resolve, reject) => {
    p.on('error', reject);
    p.on('close', (code, signal) => {
      let json: any = null;
      try {
        json = JSON.parse(stdout.trim().split('\n').pop() ?? '');
      } catch {
        json = null;
      }
      resolve({ code, signal, stdout, stderr, json });
    });
  });
  return Object.assign(p, { result });
}

export function firn(args: string[], env: NodeJS.ProcessEnv): Promise<FirnResult> {
  return spawnFirn(args, env).result;
}

/** Environment for a firn client process: credentials in the environment, no config files. */
export function firnEnv(creds: Creds): NodeJS.ProcessEnv {
  return { ...awsEnv(creds), NODE_OPTIONS: '' };
}

/** Writes `size` deterministic pseudo-random bytes (AES-CTR keyed by `seed`), 4 MiB at a time. */
export function writeSeededFile(path: string, seed: string, size: number): void {
  const key = createHash('sha256').update(seed).digest();
  const c = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
  const fd = openSync(path, 'w');
  const zeros = Buffer.alloc(4 * 1024 * 1024);
  try {
    for (let done = 0; done < size; ) {
      const n = Math.min(zeros.length, size - done);
      writeSync(fd, c.update(zeros.subarray(0, n)));
      done += n;
    }
  } finally {
    closeSync(fd);
  }
}

export async function fileSha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) h.update(c as Buffer);
  return h.digest('hex');
}
