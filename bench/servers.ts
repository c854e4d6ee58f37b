import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../test/helpers/child-server.js';

export const ROOT = new URL('..', import.meta.url).pathname;
// The test credentials, so that the signed-request helpers in test/helpers work unchanged.
export { TEST_ACCOUNT as ACCOUNT, TEST_KEY as KEY, TEST_SECRET as SECRET } from '../test/helpers/server.js';
import { TEST_ACCOUNT as ACCOUNT, TEST_KEY as KEY, TEST_SECRET as SECRET } from '../test/helpers/server.js';
import { httpAnswers } from '../test/helpers/http-probe.js';

/** Samples a process's resident set size: VmHWM after a reset of the peak, plus polled VmRSS. */
export class RssSampler {
  #timer: NodeJS.Timeout | null = null;
  #max = 0;
  /** VmRSS when the window began: what the process already held (retained from earlier work). */
  startRss = 0;
  constructor(readonly pid: number) {}

  static read(pid: number): { rss: number; hwm: number } {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  }

  /** Starts a measurement window: resets the kernel's peak (clear_refs 5) and starts polling. */
  begin(): void {
    try {
      writeFileSync(`/proc/${this.pid}/clear_refs`, '5');
    } catch {
      // Older kernels or no permission: the polled maximum still works.
    }
    this.#max = this.startRss = RssSampler.read(this.pid).rss;
    this.#timer = setInterval(() => {
      try {
        this.#max = Math.max(this.#max, RssSampler.read(this.pid).rss);
      } catch {
        /* process gone */
      }
    }, 20);
  }

  /** Ends the window; returns the peak RSS in bytes (the larger of VmHWM and the polled maximum). */
  end(): number {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    let hwm = 0;
    try {
      hwm = RssSampler.read(this.pid).hwm;
    } catch {
      /* gone */
    }
    return Math.max(hwm, this.#max);
  }
}

export interface BenchServer {
  name: 'firn' | 'moto';
  url: string;
  pid: number;
  dataDir: string | null;
  /** The last few KB the server wrote to stderr. */
  log(): string;
  stop(): Promise<void>;
}

async function waitHttp(url: string, proc: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited: ${log()}`);
    const ok = await httpAnswers(url);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`server at ${url} not ready: ${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function stopper(proc: ChildProcess, cleanup: () => void): () => Promise<void> {
  return async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        proc.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        proc.kill('SIGTERM');
      });
    }
    cleanup();
  };
}

/**
 * Prepares the Firn build the benchmark runs: by default the committed HEAD (exported with
 * `git archive`, so colleagues' uncommitted work in the shared tree is not measured), compiled
 * with tsc to dist/ and run as `node bin/firn.js serve`, like a production install.
 */
export function prepareFirn(source: string): { dir: string; commit: string } {
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  // Any other value is a directory holding a built Firn (bin/ + dist/), e.g. a patched copy for an experiment.
  if (source !== 'head' && source !== 'tree') return { dir: source, commit: `${source} (HEAD ${commit})` };
  let dir = ROOT;
  if (source === 'head') {
    dir = join(ROOT, '.bench-tmp', `src-${commit}`);
    if (!existsSync(join(dir, 'dist', 'cli', 'main.js'))) {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      const tar = spawnSync('sh', ['-c', `git archive HEAD | tar -x -C '${dir}'`], { cwd: ROOT, stdio: 'inherit' });
      if (tar.status !== 0) throw new Error('git archive failed');
      symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    }
  }
  if (!existsSync(join(dir, 'dist', 'cli', 'main.js')) || source === 'tree') {
    // tsc emits even when colleagues' files have type errors; the build is usable if main.js exists.
    spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], { cwd: dir, stdio: 'ignore' });
    if (!existsSync(join(dir, 'dist', 'cli', 'main.js'))) throw new Error(`build failed in ${dir}`);
  }
  return { dir, commit };
}

export async function startFirn(buildDir: string, env: Record<string, string> = {}, dataDir?: string): Promise<BenchServer> {
  const port = await freePort();
  const dir = dataDir ?? mkdtempSync(join(process.env.BENCH_DATA_DIR ?? tmpdir(), 'firn-bench-'));
  let log = '';
  // BENCH_FIRN_NODE_ARGS: extra node flags for the server, e.g. `--cpu-prof --cpu-prof-dir=DIR`.
  const nodeArgs = (process.env.BENCH_FIRN_NODE_ARGS ?? '').split(' ').filter(Boolean);
  // BENCH_FIRN_ENV: extra environment for the server only (not the clients), e.g. `MALLOC_ARENA_MAX=2`.
  const extraEnv = Object.fromEntries((process.env.BENCH_FIRN_ENV ?? '').split(' ').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  // Started as the installed `firn` command is, through bin/firn.js's launcher lines (its node flags
  // and malloc settings); with BENCH_FIRN_NODE_ARGS, by this node with those flags instead.
  const bin = join(buildDir, 'bin', 'firn.js');
  const [cmd, argv] = nodeArgs.length ? [process.execPath, [...nodeArgs, bin, 'serve']] : [bin, ['serve']];
  const proc = spawn(cmd, argv, {
    cwd: buildDir,
    env: {
      ...process.env,
      FIRN_HOST: '127.0.0.1',
      FIRN_PORT: String(port),
      FIRN_DATA_DIR: dir,
      FIRN_ACCOUNT_ID: ACCOUNT,
      FIRN_ROOT_ACCESS_KEY_ID: KEY,
      FIRN_ROOT_SECRET_ACCESS_KEY: SECRET,
      FIRN_LOG_LEVEL: 'warn',
      ...extraEnv,
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  proc.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-5000)));
  const url = `http://127.0.0.1:${port}`;
  await waitHttp(`${url}/_firn/health`, proc, () => log);
  return {
    name: 'firn',
    url,
    pid: proc.pid!,
    dataDir: dir,
    log: () => log,
    stop: stopper(proc, () => {
      if (!dataDir) rmSync(dir, { recursive: true, force: true });
    }),
  };
}

let pythonExe: string | null = null;
export function python(): string {
  pythonExe ??= execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
  return pythonExe;
}

/** moto_server (moto 5.2.1, Flask, single process, everything in memory). */
export async function startMoto(): Promise<BenchServer> {
  const port = await freePort();
  let log = '';
  const proc = spawn(python(), ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  proc.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-5000)));
  const url = `http://127.0.0.1:${port}`;
  await waitHttp(`${url}/moto-api/`, proc, () => log);
  return { name: 'moto', url, pid: proc.pid!, dataDir: null, log: () => log, stop: stopper(proc, () => {}) };
}
