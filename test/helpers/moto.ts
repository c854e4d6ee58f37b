import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { freePort } from './child-server.js';
import { httpAnswers } from './http-probe.js';

/** Whether `moto_server` (moto's stand-alone AWS mock, preinstalled in the image) is on PATH. */
export function hasMotoServer(): boolean {
  return spawnSync('sh', ['-c', 'command -v moto_server'], { encoding: 'utf8' }).status === 0;
}

export interface MotoServer {
  url: string;
  stop(): Promise<void>;
}

/** Starts `moto_server -H 127.0.0.1 -p <free port>` and waits until it answers. */
export async function startMoto(): Promise<MotoServer> {
  const port = await freePort();
  const proc: ChildProcess = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-5000)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  while (!(await up(port))) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`moto_server did not start:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}

function up(port: number): Promise<boolean> {
  return httpAnswers(`http://127.0.0.1:${port}/moto-api/`);
}
