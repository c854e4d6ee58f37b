import { Worker } from 'node:worker_threads';
import type { MetadataBackend } from '../metadata-suite.js';
import type { ScenarioArg, ScenarioName, ScenarioResult } from './race-scenarios.js';

/**
 * Runs `scenario` in `racers` worker threads at once, each with its own store handle on the
 * database `ref`, released together from a barrier. Workers load TypeScript through tsx, as the
 * test runner does.
 */
export async function race<N extends ScenarioName>(backend: MetadataBackend, ref: string, scenario: N, arg: ScenarioArg<N>, racers = 2): Promise<ScenarioResult<N>[]> {
  const barrier = new SharedArrayBuffer(8);
  const worker = new URL('./race-worker.ts', import.meta.url).href;
  const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => m.register()).then(() => import(${JSON.stringify(worker)}))`;
  const runs = Array.from({ length: racers }, (_, me) => {
    const w = new Worker(boot, { eval: true, workerData: { backendUrl: backend.moduleUrl, ref, scenario, me, racers, arg, barrier } });
    return new Promise<ScenarioResult<N>>((resolve, reject) => {
      w.once('message', (m: { ok: boolean; value?: ScenarioResult<N>; error?: string }) => {
        if (m.ok) resolve(m.value as ScenarioResult<N>);
        else reject(new Error(`racer ${me} (${scenario}): ${m.error}`));
      });
      w.once('error', reject);
      w.once('exit', (code) => reject(new Error(`racer ${me} (${scenario}) exited with ${code} before answering`)));
    });
  });
  return Promise.all(runs);
}
