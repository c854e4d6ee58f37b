/**
 * Jobs survive a restart or kill -9 and complete afterwards. The server runs as a child process; it is SIGKILLed with jobs waiting for
 * their tier delay, and again while the engine is busy running jobs. After each restart every job
 * that got a 202 must still be there and must complete with the right output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChildServer } from '../helpers/child-server.js';
import { RawGlacier, seededBytes, sha256Hex } from '../helpers/glacier-raw.js';
import { signedRequest } from '../helpers/server.js';
import { MiB, treeHash } from '../../src/domain/treehash.js';
import { onPostgres } from '../helpers/metadata.js';

const VAULT = 'crash-jobs';

interface Stored {
  desc: string;
  bytes: Buffer;
  archiveId: string;
  treeHash: string;
}

/** POST /_firn/test/clock/advance (test-control API, FIRN_TEST_CONTROL=true). */
async function advanceClock(url: string, seconds: number): Promise<void> {
  const r = await signedRequest(url, { method: 'POST', path: '/_firn/test/clock/advance', body: JSON.stringify({ seconds }), headers: { 'content-type': 'application/json' } });
  assert.ok(r.status >= 200 && r.status < 300, `clock advance: ${r.status} ${r.body.toString()}`);
}

async function upload(g: RawGlacier, desc: string, size: number): Promise<Stored> {
  const bytes = seededBytes(desc, size);
  const r = await g.uploadArchive(bytes, desc);
  assert.equal(r.status, 201, r.body.toString());
  return { desc, bytes, archiveId: String(r.headers['x-amz-archive-id']), treeHash: treeHash(bytes) };
}

/** Checks a completed archive-retrieval job's output against the bytes that were uploaded. */
async function checkArchiveOutput(g: RawGlacier, jobId: string, a: Stored, range?: [number, number]): Promise<void> {
  const [s, e] = range ?? [0, a.bytes.length - 1];
  const want = a.bytes.subarray(s, e + 1);
  const out = await g.getJobOutput(jobId);
  assert.equal(out.status, 200, out.body.toString());
  assert.equal(out.body.length, want.length, `${a.desc}: output length`);
  assert.equal(sha256Hex(out.body), sha256Hex(want), `${a.desc}: output bytes`);
  assert.equal(out.headers['x-amz-sha256-tree-hash'], treeHash(want), `${a.desc}: output tree hash header`);
}

function inventoryDescriptions(format: 'JSON' | 'CSV', body: Buffer): string[] {
  if (format === 'JSON') return JSON.parse(body.toString('utf8')).ArchiveList.map((x: any) => x.ArchiveDescription);
  const lines = body.toString('utf8').split('\n').filter((l) => l.length);
  assert.equal(lines[0], 'ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash');
  return lines.slice(1).map((l) => /^[A-Za-z0-9_-]+,"((?:[^"\\]|\\.)*)",/.exec(l)?.[1] ?? `<unparsed: ${l}>`);
}

/** Uploads a probe archive and starts a probe inventory job; returns the probe job's id. */
async function probeFeatures(g: RawGlacier): Promise<{ probeJobId: string }> {
  const up = await g.uploadArchive(Buffer.from('probe'), 'probe');
  assert.equal(up.status, 201, up.body.toString());
  const job = await g.initiateJob({ Type: 'inventory-retrieval' });
  assert.equal(job.status, 202, job.body.toString());
  return { probeJobId: String(job.headers['x-amz-job-id']) };
}

test('jobs waiting for their tier delay survive SIGKILL and complete afterwards with the right output', { timeout: 120_000 }, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'firn-crash-jobs-'));
  const server = new ChildServer({ dataDir, env: { FIRN_RETRIEVAL_TIMING: 'aws', FIRN_TEST_CONTROL: 'true' } });
  try {
    await server.start();
    const g = new RawGlacier(server.url, VAULT);
    assert.equal((await g.createVault()).status, 201);
    const probe = await probeFeatures(g);

    const big = await upload(g, 'big', 3 * MiB + 17);
    const one = await upload(g, 'one-byte', 1);
    const two = await upload(g, 'two-mib', 2 * MiB);

    const specs: { name: string; params: Record<string, unknown>; check: (jobId: string) => Promise<void> }[] = [
      { name: 'whole, Standard', params: { Type: 'archive-retrieval', ArchiveId: big.archiveId }, check: (id) => checkArchiveOutput(g, id, big) },
      {
        name: 'range 1-2 MiB, Expedited',
        params: { Type: 'archive-retrieval', ArchiveId: big.archiveId, Tier: 'Expedited', RetrievalByteRange: `${MiB}-${2 * MiB - 1}` },
        check: (id) => checkArchiveOutput(g, id, big, [MiB, 2 * MiB - 1]),
      },
      { name: 'one byte, Bulk', params: { Type: 'archive-retrieval', ArchiveId: one.archiveId, Tier: 'Bulk' }, check: (id) => checkArchiveOutput(g, id, one) },
      { name: '2 MiB, Standard', params: { Type: 'archive-retrieval', ArchiveId: two.archiveId }, check: (id) => checkArchiveOutput(g, id, two) },
      ...(['JSON', 'CSV'] as const).map((format) => ({
        name: `inventory ${format}`,
        params: { Type: 'inventory-retrieval', Format: format },
        check: async (id: string) => {
          const out = await g.getJobOutput(id);
          assert.equal(out.status, 200);
          assert.deepEqual(inventoryDescriptions(format, out.body).sort(), ['big', 'one-byte', 'probe', 'two-mib']);
        },
      })),
    ];
    const jobs: { name: string; jobId: string; check: (jobId: string) => Promise<void> }[] = [];
    for (const s of specs) {
      const r = await g.initiateJob(s.params);
      assert.equal(r.status, 202, `${s.name}: ${r.body.toString()}`);
      jobs.push({ name: s.name, jobId: String(r.headers['x-amz-job-id']), check: s.check });
    }
    for (const j of jobs) {
      const d = (await g.describeJob(j.jobId)).json();
      assert.equal(d.StatusCode, 'InProgress', `${j.name} should wait for its tier delay (FIRN_RETRIEVAL_TIMING=aws)`);
    }

    await server.kill();
    await server.start();

    const listed = await g.req('GET', '/jobs');
    assert.equal(listed.status, 200);
    assert.deepEqual(
      listed.json().JobList.map((x: any) => x.JobId),
      [probe.probeJobId, ...jobs.map((j) => j.jobId)],
      'ListJobs after the kill lists every accepted job, in creation order',
    );
    for (const j of jobs) {
      const d = (await g.describeJob(j.jobId)).json();
      assert.equal(d.StatusCode, 'InProgress', `${j.name} after restart`);
    }

    // Bulk is at most 12 h (DG downloading-an-archive); the restart reset the clock offset, so move past all tiers.
    await advanceClock(server.url, 13 * 3600);
    for (const j of jobs) {
      const d = await g.waitJob(j.jobId, 30_000);
      assert.equal(d.StatusCode, 'Succeeded', `${j.name}: ${JSON.stringify(d)}`);
      await j.check(j.jobId);
    }

    // Completed outputs survive a kill too (they stay downloadable for 24 h).
    await server.kill();
    await server.start();
    for (const j of jobs) await j.check(j.jobId);
  } finally {
    await server.kill();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('SIGKILL while the engine is running jobs: every accepted job completes after restart', { timeout: 180_000 }, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'firn-crash-jobs-'));
  const server = new ChildServer({ dataDir, env: { FIRN_TEST_CONTROL: 'true' } });
  try {
    await server.start();
    const g = new RawGlacier(server.url, VAULT);
    assert.equal((await g.createVault()).status, 201);
    const probe = await probeFeatures(g);
    const archives = [await upload(g, 'a3', 2 * MiB + 5), await upload(g, 'a1', MiB - 1), await upload(g, 'a2', 2 * MiB)];
    const byId = new Map(archives.map((a) => [a.archiveId, a]));

    const accepted = new Map<string, { archive: Stored | null; round: number }>();
    /** The jobs accepted last before each kill: the ones most likely caught mid-run. */
    const lastBeforeKill = new Set<string>();
    let clockMoves = 0;
    for (let round = 0; round < 3; round++) {
      let killed = false;
      // Four clients initiating jobs back to back (instant timing: the engine runs them at once),
      // so the kill lands between accept, claim, run and complete.
      const client = async () => {
        while (!killed) {
          const archive = Math.random() < 0.75 ? archives[Math.floor(Math.random() * archives.length)]! : null;
          try {
            const r = await g.initiateJob(archive ? { Type: 'archive-retrieval', ArchiveId: archive.archiveId } : { Type: 'inventory-retrieval', Format: 'CSV' });
            if (r.status === 202) accepted.set(String(r.headers['x-amz-job-id']), { archive, round });
            else if (!killed) assert.fail(`InitiateJob: ${r.status} ${r.body.toString()}`);
          } catch (e) {
            if (!killed) throw e;
          }
        }
      };
      const clients = [client(), client(), client(), client()];
      await new Promise((r) => setTimeout(r, 150 + Math.random() * 600));
      killed = true;
      await server.kill();
      await Promise.all(clients);
      for (const id of [...accepted].filter(([, v]) => v.round === round).slice(-8)) lastBeforeKill.add(id[0]);
      await server.start();

      // Every accepted job must complete. A job claimed by the killed process may wait for its
      // lease to lapse; move domain time once in the round if the engine has not picked
      // everything up. An embedded (exclusive) start-up releases the dead process's claims at once;
      // on PostgreSQL a claim waits for its lease (it could belong to a live process), so moving
      // the clock is expected there, and the wait before it is shorter.
      const deadline = Date.now() + (onPostgres() ? 3_000 : 15_000);
      let usedClock = false;
      for (const jobId of accepted.keys()) {
        for (;;) {
          const r = await g.describeJob(jobId);
          assert.equal(r.status, 200, `DescribeJob ${jobId} after restart: ${r.status} ${r.body.toString()}`);
          const d = r.json();
          if (d.Completed) {
            assert.equal(d.StatusCode, 'Succeeded', JSON.stringify(d));
            break;
          }
          if (Date.now() > deadline && !usedClock) {
            usedClock = true;
            clockMoves++;
            await advanceClock(server.url, 3600);
          } else if (Date.now() > deadline + 15_000) assert.fail(`job ${jobId} still ${d.StatusCode} after restart`);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    }
    t.diagnostic(`${accepted.size} jobs accepted across 3 kills; leases had to lapse (clock advanced 1 h) after ${clockMoves} of them`);
    assert.ok(accepted.size >= 10, 'too few jobs were accepted to prove anything');

    // Jobs whose 202 was lost may exist; anything listed must be one of ours and must have succeeded.
    const all: any[] = [];
    let marker: string | null = null;
    do {
      const r = await g.req('GET', '/jobs', { query: marker ? { marker } : {} });
      assert.equal(r.status, 200);
      const j = r.json();
      all.push(...j.JobList);
      marker = j.Marker;
    } while (marker);
    for (const id of accepted.keys()) assert.ok(all.some((j) => j.JobId === id), `accepted job ${id} missing from ListJobs`);
    for (const j of all) assert.equal(j.StatusCode, 'Succeeded', JSON.stringify(j));

    // Outputs (bytes and tree hash): the jobs accepted last before each kill, and a random sample
    // of the rest (all of them would be hundreds of MiB of downloads).
    const sample = new Set(lastBeforeKill);
    const rest = [...accepted.keys()].filter((id) => !sample.has(id)).sort(() => Math.random() - 0.5);
    for (const id of rest.slice(0, 30)) sample.add(id);
    let inventories = 0;
    for (const jobId of sample) {
      const { archive } = accepted.get(jobId)!;
      if (archive) await checkArchiveOutput(g, jobId, byId.get(archive.archiveId)!);
      else if (inventories++ < 5) {
        const out = await g.getJobOutput(jobId);
        assert.equal(out.status, 200);
        assert.deepEqual(inventoryDescriptions('CSV', out.body).sort(), ['a1', 'a2', 'a3', 'probe']);
      }
    }
  } finally {
    await server.kill();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
