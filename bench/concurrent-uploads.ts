/**
 * Peak RSS of a Firn server while N clients upload a 1 MiB archive each, all at once.
 * Not a test: `node --import tsx bench/concurrent-uploads.ts [--root DIR] [--clients 200] [--rounds 3]`.
 *
 * `--root` is the Firn source tree to run (default: this one), so that two commits can be
 * compared on the same machine: the server runs as `node --import tsx <root>/test/helpers/firn-cli.ts serve`
 * (test/helpers/child-server.ts).
 * Prints, per round, the server's peak RSS (VmHWM after a clear_refs reset, and the polled
 * maximum) over the whole burst, and how many uploads got their 201.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from 'node:http';
import { RssSampler } from './servers.js';
import { ChildServer } from '../test/helpers/child-server.js';
import { signedUploadHeaders, TEST_KEY, TEST_SECRET } from '../test/helpers/server.js';
import { seededBytes } from '../test/helpers/glacier-raw.js';
import { signedRequest } from '../test/helpers/server.js';
import { treeHash } from '../src/domain/treehash.js';

const args = process.argv.slice(2);
const flag = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const ROOT = resolve(flag('root', new URL('..', import.meta.url).pathname));
const CLIENTS = Number(flag('clients', '200'));
const ROUNDS = Number(flag('rounds', '3'));
const SIZE = 1024 * 1024;

const dataDir = mkdtempSync(join(tmpdir(), 'firn-rss-'));
const server = new ChildServer({ dataDir, command: [process.execPath, '--import', 'tsx', join(ROOT, 'test/helpers/firn-cli.ts')] });
await server.start();
const url = server.url;
try {
  const creds = { accessKeyId: TEST_KEY, secretAccessKey: TEST_SECRET };
  await signedRequest(url, { method: 'PUT', path: '/-/vaults/rss', creds });
  const data = seededBytes('rss', SIZE);
  const th = treeHash(data);
  const path = '/-/vaults/rss/archives';
  const sampler = new RssSampler(server.pid);
  console.log(`root ${ROOT}, ${CLIENTS} concurrent uploads of ${SIZE} bytes, idle RSS ${(RssSampler.read(server.pid).rss / 1e6).toFixed(0)} MB`);
  for (let round = 1; round <= ROUNDS; round++) {
    // Signed up front, so that the requests leave together.
    const headers = await Promise.all(Array.from({ length: CLIENTS }, () => signedUploadHeaders(url, creds, path, data, th)));
    sampler.begin();
    const statuses = await Promise.all(
      headers.map(
        (h) =>
          new Promise<number>((done) => {
            const req = request(`${url}${path}`, { method: 'POST', headers: h, agent: false }, (res) => {
              res.resume();
              res.on('end', () => done(res.statusCode ?? 0));
            });
            req.on('error', () => done(0));
            req.end(data);
          }),
      ),
    );
    const peak = sampler.end();
    const ok = statuses.filter((s) => s === 201).length;
    console.log(`round ${round}: peak RSS ${(peak / 1e6).toFixed(0)} MB, ${ok}/${CLIENTS} answered 201`);
  }
} finally {
  await server.kill();
  rmSync(dataDir, { recursive: true, force: true });
}
