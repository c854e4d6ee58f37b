import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { TEST_ACCOUNT, TEST_KEY, TEST_SECRET } from './server.js';
import { testMetadataUrl } from './metadata.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ENTRY = fileURLToPath(new URL('./firn-cli.ts', import.meta.url));

/** Asks the kernel for a free TCP port on loopback (bound and released at once). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface ChildServerOptions {
  dataDir: string;
  /** Extra FIRN_* environment variables. */
  env?: Record<string, string>;
  /** Command to run instead of tsx + sources, e.g. ['node', 'bin/firn.js']. */
  command?: string[];
}

/**
 * A Firn server in its own process, on a fixed port and data directory, so that a test can
 * SIGKILL it at any moment and start it again on the same data. The port is kept across restarts
 * so that clients need no reconfiguration.
 */
export class ChildServer {
  readonly dataDir: string;
  /**
   * FIRN_METADATA_URL of this server: the one `env` gives, else (under FIRN_TEST_METADATA=postgres)
   * a fresh schema made at the first start and kept across restarts; undefined means SQLite.
   */
  metadataUrl: string | undefined;
  port = 0;
  proc: ChildProcess | null = null;
  stderr = '';
  readonly #env: Record<string, string>;
  readonly #command: string[];

  constructor(opts: ChildServerOptions) {
    this.dataDir = opts.dataDir;
    this.#env = opts.env ?? {};
    this.metadataUrl = this.#env.FIRN_METADATA_URL;
    this.#command = opts.command ?? [process.execPath, '--import', 'tsx', ENTRY];
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    if (!this.proc?.pid) throw new Error('server is not running');
    return this.proc.pid;
  }

  async start(): Promise<void> {
    if (this.proc) throw new Error('already running');
    if (!this.port) this.port = await freePort();
    if (this.metadataUrl === undefined && !('FIRN_METADATA_URL' in this.#env)) this.metadataUrl = await testMetadataUrl();
    const [cmd, ...args] = this.#command;
    const proc = spawn(cmd!, [...args, 'serve'], {
      cwd: ROOT,
      env: {
        ...process.env,
        FIRN_HOST: '127.0.0.1',
        FIRN_PORT: String(this.port),
        FIRN_DATA_DIR: this.dataDir,
        FIRN_ACCOUNT_ID: TEST_ACCOUNT,
        FIRN_ROOT_ACCESS_KEY_ID: TEST_KEY,
        FIRN_ROOT_SECRET_ACCESS_KEY: TEST_SECRET,
        FIRN_LOG_LEVEL: 'warn',
        ...(this.metadataUrl ? { FIRN_METADATA_URL: this.metadataUrl } : {}),
        ...this.#env,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.proc = proc;
    this.stderr = '';
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (d: string) => {
      this.stderr = (this.stderr + d).slice(-20_000);
    });
    const exited = new Promise<never>((_, reject) =>
      proc.once('exit', (code, sig) => reject(new Error(`server exited during start-up (code ${code}, signal ${sig}):\n${this.stderr}`))),
    );
    exited.catch(() => {});
    const deadline = Date.now() + 30_000;
    while (true) {
      const ok = await Promise.race([health(this.port), exited]);
      if (ok) return;
      if (Date.now() > deadline) {
        await this.kill();
        throw new Error(`server did not become healthy within 30 s:\n${this.stderr}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGKILL: no shutdown hooks, no flush; exactly what a power cut looks like to the process. */
  async kill(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    this.proc = null;
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGKILL');
    });
  }

  /** SIGTERM, then SIGKILL after a grace period. */
  async stop(graceMs = 5000): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    this.proc = null;
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      proc.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      proc.kill('SIGTERM');
    });
  }
}

function health(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/_firn/health', method: 'GET', timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
      res.on('error', () => resolve(false));
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

/** Reads peak (VmHWM) and current (VmRSS) resident set size of a process, in bytes. */
export function readRss(pid: number): { hwm: number; rss: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
    return { hwm: kb('VmHWM'), rss: kb('VmRSS') };
  } catch {
    return null;
  }
}
