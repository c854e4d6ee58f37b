import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { RawGlacier, seededBytes, sha256Hex } from '../helpers/glacier-raw.js';
import { blobFiles } from '../helpers/uploads.js';
import { createLogger } from '../../src/lib/logger.js';
import { MiB } from '../../src/domain/treehash.js';

/**
 * A small file system of its own (tmpfs) under the data directory, filled through the API. Needs
 * permission to mount (root with CAP_SYS_ADMIN); skipped with the reason otherwise.
 */
test('a full disk: clear refusal, deletes and jobs still work, reads and restart on a full disk, recovery without restart, no acknowledged byte lost', async (t) => {
  const mnt = mkdtempSync(join(tmpdir(), 'firn-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=40m', 'tmpfs', mnt], { stdio: 'pipe' });
  } catch (e) {
    rmSync(mnt, { recursive: true, force: true });
    t.skip(`cannot mount a small tmpfs here, so no disk can be filled (${String((e as Error).message).split('\n')[0]}); run as root to include this test`);
    return;
  }
  const dataDir = join(mnt, 'data');
  mkdirSync(dataDir);
  const logged: { level: number; msg: string; err?: { code?: string } }[] = [];
  const sink = new Writable({
    write(c: Buffer, _e, cb) {
      for (const l of c.toString().split('\n')) if (l) logged.push(JSON.parse(l));
      cb();
    },
  });
  let s: TestServer | null = null;
  const start = async (reserve: number) => {
    s = await startTestServer({ dataDir, config: { freeSpaceReserve: reserve }, log: createLogger('warn', sink) });
    return { s, g: new RawGlacier(s.url, 'full') };
  };
  /** Acknowledged (201) archives that have not been deleted: id → bytes. */
  const kept = new Map<string, Buffer>();
  let n = 0;
  const uploadUntilRefused = async (g: RawGlacier) => {
    for (let i = 0; i < 200; i++) {
      const data = seededBytes(`a${n}`, MiB + n);
      n++;
      const r = await g.uploadArchive(data, `archive ${n}`);
      if (r.status === 201) {
        kept.set(String(r.headers['x-amz-archive-id']), data);
        continue;
      }
      return r;
    }
    throw new Error('the disk never filled');
  };
  const assertFullRefusal = (r: { status: number; json(): any }) => {
    assert.equal(r.status, 507);
    const j = r.json();
    assert.equal(j.code, 'ServiceUnavailableException');
    assert.equal(j.type, 'Server');
    assert.match(j.message, /disk is full/);
  };
  const retrieve = async (g: RawGlacier, archiveId: string) => {
    const job = await g.initiateJob({ Type: 'archive-retrieval', ArchiveId: archiveId });
    assert.equal(job.status, 202, job.body.toString());
    return String(job.headers['x-amz-job-id']);
  };
  try {
    // 1. Fill the disk through the API, with an 8 MiB reserve.
    let { s: a, g } = await start(8 * MiB);
    assert.equal((await g.createVault()).status, 201);
    const refused = await uploadUntilRefused(g);
    assertFullRefusal(refused);
    assert.ok(kept.size >= 20, `${kept.size} archives fit`);
    assertFullRefusal(await g.uploadArchive(seededBytes('again', 4 * MiB), 'again'));
    assert.equal(logged.filter((l) => /storage is full/.test(l.msg)).length, 1, 'logged once per episode');
    assert.deepEqual(blobFiles(a).tmp, [], 'no partial file left');

    // 2. The way out stays open: jobs, metadata writes, multipart abort, deletes.
    const firstId = [...kept.keys()][0]!;
    const jobId = await retrieve(g, firstId);
    assert.equal((await g.req('POST', '/tags', { query: { operation: 'add' }, body: JSON.stringify({ Tags: { state: 'full' } }) })).status, 204);
    const mp = await g.initiateMultipart(MiB, 'mp');
    assert.equal(mp.status, 201);
    assert.equal((await g.req('DELETE', `/multipart-uploads/${mp.headers['x-amz-multipart-upload-id']}`)).status, 204);
    const lastId = [...kept.keys()].at(-1)!;
    assert.equal((await g.req('DELETE', `/archives/${lastId}`)).status, 204);
    kept.delete(lastId);

    // 3. Restart on the full disk: it starts and serves reads.
    await a.stop();
    ({ s: a, g } = await start(8 * MiB));
    assert.equal((await g.req('GET', '')).status, 200);
    await a.running.app.jobs.runDue();
    const out = await g.getJobOutput(jobId);
    assert.equal(out.status, 200);
    assert.equal(sha256Hex(out.body), sha256Hex(kept.get(firstId)!));
    assertFullRefusal(await g.uploadArchive(seededBytes('still', 4 * MiB), 'still'));

    // 4. Space comes back (archives deleted): uploads are accepted again, without a restart.
    for (const id of [...kept.keys()].slice(-6)) {
      assert.equal((await g.req('DELETE', `/archives/${id}`)).status, 204);
      kept.delete(id);
    }
    await a.running.app.blobMaintenance.collect();
    const back = seededBytes('back', MiB);
    const ok = await g.uploadArchive(back, 'back');
    assert.equal(ok.status, 201, ok.body.toString());
    kept.set(String(ok.headers['x-amz-archive-id']), back);
    assert.ok(logged.some((l) => /storage has room again/.test(l.msg)), 'the end of the episode is logged');

    // 5. Admission switched off (an infinitely negative reserve): the disk itself refuses, and
    // ENOSPC / SQLITE_FULL still give the clear refusal, logged once, with no partial file left.
    await a.stop();
    ({ s: a, g } = await start(Number.NEGATIVE_INFINITY));
    logged.length = 0;
    assertFullRefusal(await uploadUntilRefused(g));
    assertFullRefusal(await g.uploadArchive(seededBytes('more', MiB), 'more'));
    const episode = logged.filter((l) => /storage is full/.test(l.msg));
    assert.equal(episode.length, 1, JSON.stringify(logged).slice(0, 3000));
    assert.match(String(episode[0]!.err?.code), /^(ENOSPC|SQLITE_FULL)$/);
    assert.deepEqual(blobFiles(a).tmp, [], 'no partial file left');
    assert.ok(logged.every((l) => l.level < 50 || /storage is full/.test(l.msg)), JSON.stringify(logged));
    await a.stop();
    ({ s: a, g } = await start(0));
    assert.equal((await g.req('GET', '')).status, 200, 'restart and read on a 100% full disk');
    assert.equal((await g.req('GET', `/archives/x`)).status, 405);

    // 6. Every acknowledged archive that was not deleted, byte for byte.
    await a.stop();
    ({ s: a, g } = await start(8 * MiB));
    for (const id of [...kept.keys()].slice(0, kept.size - 30)) {
      // Free enough for the jobs' metadata if the previous step left the disk at 100 %.
      assert.equal((await g.req('DELETE', `/archives/${id}`)).status, 204);
      kept.delete(id);
    }
    const jobs = new Map<string, string>();
    for (const id of kept.keys()) jobs.set(await retrieve(g, id), id);
    await a.running.app.jobs.runDue();
    for (const [job, id] of jobs) {
      const r = await g.getJobOutput(job);
      assert.equal(r.status, 200);
      assert.equal(sha256Hex(r.body), sha256Hex(kept.get(id)!), `archive ${id}`);
    }
  } finally {
    if (s) await (s as TestServer).stop();
    execFileSync('umount', [mnt]);
    rmSync(mnt, { recursive: true, force: true });
  }
});
