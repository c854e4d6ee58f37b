import { parentPort, workerData } from 'node:worker_threads';
import type { MetadataBackend } from '../metadata-suite.js';
import type { MetadataStore } from '../../../src/storage/metadata/types.js';
import { scenarios, type ScenarioName } from './race-scenarios.js';

/** One racer: waits for the others at the barrier, opens its own handle, runs its scenario. */
interface RacerData {
  backendUrl: string;
  ref: string;
  scenario: ScenarioName;
  me: number;
  racers: number;
  arg: unknown;
  barrier: SharedArrayBuffer;
}

const d = workerData as RacerData;
const { backend } = (await import(d.backendUrl)) as { backend: MetadataBackend };
const gate = new Int32Array(d.barrier);
/** Waits until every racer has reached barrier `i`. */
function barrier(i: number): void {
  Atomics.add(gate, i, 1);
  Atomics.notify(gate, i);
  for (let v = Atomics.load(gate, i); v < d.racers; v = Atomics.load(gate, i)) Atomics.wait(gate, i, v, 1000);
}
barrier(0);
// Opening is part of the race: on a fresh database the racers migrate it at the same time.
let store: MetadataStore | undefined;
try {
  store = await backend.open(d.ref);
  // The scenarios start together too, whatever opening took each racer.
  barrier(1);
  const value = await scenarios[d.scenario](store, d.me, d.arg as never);
  parentPort!.postMessage({ ok: true, value });
} catch (e) {
  parentPort!.postMessage({ ok: false, error: e instanceof Error ? `${e.message}\n${e.stack}` : String(e) });
} finally {
  await store?.close();
}
