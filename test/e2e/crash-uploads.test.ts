/**
 * Crash safety: "kills the server with SIGKILL at random moments during concurrent
 * single and multipart uploads, restarts it, and repeats; checks that every archive that got a 201
 * is present with its exact bytes and tree hash; checks that no half-written archive is visible and
 * that ListParts reflects only parts that got a 204."
 *
 * The server runs as a child process on a fixed data directory. Every upload attempt carries a
 * unique description, so an archive that shows up after a crash can be traced to the attempt that
 * made it (even when its 201 was lost with the process) and checked byte for byte.
 *
 * Scale knobs (defaults keep the test under about a minute on a shared 2-core machine):
 * FIRN_CRASH_ROUNDS (kills), FIRN_CRASH_WORKERS (concurrent clients).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ChildServer } from '../helpers/child-server.js';
import { RawGlacier, seededBytes, sha256Hex } from '../helpers/glacier-raw.js';
import { MiB, treeHash } from '../../src/domain/treehash.js';
import { leftoverBlobFiles, verifyArchivesThroughStore, type ArchiveView } from '../helpers/crash-verify.js';
import { signedRequest } from '../helpers/server.js';
import { onPostgres } from '../helpers/metadata.js';

const ROUNDS = Number(process.env.FIRN_CRASH_ROUNDS ?? 5);
const WORKERS = Number(process.env.FIRN_CRASH_WORKERS ?? 4);
const VAULT = 'crash-vault';
const PART_SIZE = MiB;

interface Expected {
  desc: string;
  seed: string;
  size: number;
  treeHash: string;
}

interface SingleAttempt extends Expected {
  kind: 'single';
  /** acked: got 201; unknown: the process died before an answer arrived. */
  state: 'sending' | 'acked' | 'unknown';
  archiveId?: string;
}

interface MultipartAttempt extends Expected {
  kind: 'multipart';
  uploadId: string | null;
  /** Part start offset → tree hash, for parts that got 204. */
  ackedParts: Map<number, string>;
  complete: 'none' | 'sending' | 'unknown' | 'acked';
  /** ListParts answered 404 after a Complete whose answer was lost: the archive must exist. */
  mustExist: boolean;
  archiveId?: string;
  /** Being worked on by a client right now. */
  busy: boolean;
}

type Attempt = SingleAttempt | MultipartAttempt;

function pick<T>(xs: readonly T[]): T {
  return xs[Math.floor(Math.random() * xs.length)]!;
}

/** Sizes around the 1 MiB leaf boundaries, tiny bodies, and a few MiB. */
function singleSize(): number {
  const r = Math.random();
  if (r < 0.3) return 1 + Math.floor(Math.random() * 4096);
  if (r < 0.6) return pick([MiB - 1, MiB, MiB + 1, 2 * MiB, 2 * MiB + 1]);
  return 1 + Math.floor(Math.random() * 3 * MiB);
}

function multipartSize(): number {
  const parts = 2 + Math.floor(Math.random() * 3);
  return (parts - 1) * PART_SIZE + 1 + Math.floor(Math.random() * PART_SIZE);
}

/** POSTs to the test-control API (FIRN_TEST_CONTROL=true). */
async function testControl(url: string, path: string, body?: unknown): Promise<void> {
  const r = await signedRequest(url, { method: 'POST', path, ...(body ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) });
  assert.equal(r.status, 200, `${path}: ${r.status} ${r.body.toString()}`);
}

test('SIGKILL during concurrent single and multipart uploads loses nothing acknowledged and shows nothing half-written', { timeout: 240_000 }, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'firn-crash-up-'));
  const server = new ChildServer({ dataDir, env: { FIRN_TEST_CONTROL: 'true' } });
  const runId = randomBytes(4).toString('hex');
  t.diagnostic(`run ${runId}, ${ROUNDS} kills, ${WORKERS} workers, data dir ${dataDir}`);
  const attempts = new Map<string, Attempt>();
  const problems: string[] = [];
  let seq = 0;
  let killed = false;
  const stats = { singleAcked: 0, singleUnknown: 0, partsAcked: 0, completesAcked: 0, completesUnknown: 0, resumed: 0 };

  try {
    await server.start();
    const g = new RawGlacier(server.url, VAULT);
    const probe = await g.createVault();
    assert.equal(probe.status, 201);
    const upProbe = await g.uploadArchive(Buffer.from('probe'), `${runId}-probe`);
    assert.equal(upProbe.status, 201, upProbe.body.toString());
    attempts.set(`${runId}-probe`, {
      kind: 'single',
      desc: `${runId}-probe`,
      seed: '',
      size: 5,
      treeHash: treeHash(Buffer.from('probe')),
      state: 'acked',
      archiveId: String(upProbe.headers['x-amz-archive-id']),
    });

    const bytesOf = (e: Expected) => (e.seed === '' ? Buffer.from('probe') : seededBytes(e.seed, e.size));

    /** A response that is not the expected success while the server is alive is a bug. */
    const unexpected = (what: string, status: number, body: Buffer) => {
      if (!killed) problems.push(`${what}: HTTP ${status} ${body.toString().slice(0, 300)}`);
    };

    async function singleUpload(): Promise<void> {
      const desc = `${runId}-s${seq++}`;
      const size = singleSize();
      const seed = `${desc}-seed`;
      const body = seededBytes(seed, size);
      const a: SingleAttempt = { kind: 'single', desc, seed, size, treeHash: treeHash(body), state: 'sending' };
      attempts.set(desc, a);
      try {
        const r = await g.uploadArchive(body, desc, { treeHash: a.treeHash, sha256: sha256Hex(body) });
        if (r.status === 201) {
          a.state = 'acked';
          a.archiveId = String(r.headers['x-amz-archive-id']);
          stats.singleAcked++;
          if (r.headers['x-amz-sha256-tree-hash'] !== a.treeHash) problems.push(`${desc}: 201 with tree hash ${r.headers['x-amz-sha256-tree-hash']}`);
        } else {
          a.state = 'unknown';
          unexpected(`UploadArchive ${desc}`, r.status, r.body);
        }
      } catch {
        a.state = 'unknown';
        stats.singleUnknown++;
      }
    }

    async function multipart(a: MultipartAttempt): Promise<void> {
      a.busy = true;
      try {
        if (!a.uploadId) {
          const r = await g.initiateMultipart(PART_SIZE, a.desc);
          if (r.status !== 201) return unexpected(`InitiateMultipartUpload ${a.desc}`, r.status, r.body);
          a.uploadId = String(r.headers['x-amz-multipart-upload-id']);
        }
        const data = bytesOf(a);
        const starts: number[] = [];
        for (let s = 0; s < a.size; s += PART_SIZE) if (!a.ackedParts.has(s)) starts.push(s);
        starts.sort(() => Math.random() - 0.5);
        // Two parts in flight at once, in random order: "Parts may arrive in any order and in parallel."
        const lane = async () => {
          for (let s = starts.pop(); s !== undefined; s = starts.pop()) {
            const part = data.subarray(s, Math.min(s + PART_SIZE, a.size));
            const r = await g.uploadPart(a.uploadId!, s, part);
            if (r.status !== 204) return unexpected(`UploadMultipartPart ${a.desc}@${s}`, r.status, r.body);
            a.ackedParts.set(s, treeHash(part));
            stats.partsAcked++;
          }
        };
        await Promise.all([lane(), lane()]);
        if (a.ackedParts.size !== Math.ceil(a.size / PART_SIZE)) return;
        a.complete = 'sending';
        const r = await g.completeMultipart(a.uploadId, a.size, a.treeHash);
        if (r.status === 201) {
          a.complete = 'acked';
          a.archiveId = String(r.headers['x-amz-archive-id']);
          stats.completesAcked++;
        } else {
          a.complete = 'none';
          unexpected(`CompleteMultipartUpload ${a.desc}`, r.status, r.body);
        }
      } catch {
        if (a.complete === 'sending') {
          a.complete = 'unknown';
          stats.completesUnknown++;
        }
      } finally {
        a.busy = false;
      }
    }

    function newMultipart(): MultipartAttempt {
      const desc = `${runId}-m${seq++}`;
      const size = multipartSize();
      const seed = `${desc}-seed`;
      const a: MultipartAttempt = {
        kind: 'multipart',
        desc,
        seed,
        size,
        treeHash: treeHash(seededBytes(seed, size)),
        uploadId: null,
        ackedParts: new Map(),
        complete: 'none',
        mustExist: false,
        busy: false,
      };
      attempts.set(desc, a);
      return a;
    }

    const resumable = () =>
      [...attempts.values()].filter(
        (a): a is MultipartAttempt => a.kind === 'multipart' && !a.busy && a.uploadId !== null && (a.complete === 'none' || a.complete === 'unknown') && !a.mustExist,
      );

    /**
     * After a restart: every upload we know of must still list every part that got a 204, with
     * its hash, and nothing that was never sent; an upload whose Complete answer was lost is either
     * still there (retryable) or gone because the archive was committed.
     */
    async function checkPendingUploads(): Promise<void> {
      for (const a of attempts.values()) {
        if (a.kind !== 'multipart' || a.uploadId === null || a.complete === 'acked' || a.mustExist) continue;
        const res = await g.listAllParts(a.uploadId);
        if ('response' in res) {
          if (a.complete === 'unknown' && res.response.status === 404) {
            a.mustExist = true;
            continue;
          }
          problems.push(`ListParts ${a.desc} (${a.uploadId}) after restart: HTTP ${res.response.status} ${res.response.body.toString().slice(0, 200)}`);
          a.mustExist = true; // stop retrying it; the problem is recorded
          continue;
        }
        const data = bytesOf(a);
        const listed = new Map<number, string>();
        for (const p of res.parts) {
          const m = /^(\d+)-(\d+)$/.exec(p.RangeInBytes);
          const start = Number(m?.[1]);
          const end = Number(m?.[2]);
          const expectEnd = Math.min(start + PART_SIZE, a.size) - 1;
          if (!m || start % PART_SIZE !== 0 || end !== expectEnd) {
            problems.push(`ListParts ${a.desc}: unexpected range ${p.RangeInBytes}`);
            continue;
          }
          const want = treeHash(data.subarray(start, end + 1));
          if (p.SHA256TreeHash !== want) problems.push(`ListParts ${a.desc}: part ${p.RangeInBytes} has hash ${p.SHA256TreeHash}, its bytes hash to ${want}`);
          listed.set(start, p.SHA256TreeHash);
        }
        for (const [start, h] of a.ackedParts) {
          if (listed.get(start) !== h) problems.push(`ListParts ${a.desc}: part at ${start} got 204 but is ${listed.has(start) ? 'listed with another hash' : 'missing'}`);
        }
        // Parts in flight at the kill may have landed; they are now known-good (hash checked above).
        a.ackedParts = new Map([...listed].filter(([s, h]) => h === treeHash(data.subarray(s, Math.min(s + PART_SIZE, a.size)))));
        if (a.complete === 'unknown') a.complete = 'none';
      }
    }

    async function workerLoop(): Promise<void> {
      while (!killed) {
        const r = Math.random();
        const pending = resumable();
        if (r < 0.2 && pending.length) {
          stats.resumed++;
          await multipart(pick(pending));
        } else if (r < 0.45) await multipart(newMultipart());
        else await singleUpload();
      }
    }

    for (let round = 0; round < ROUNDS; round++) {
      if (round > 0) {
        await server.start();
        await checkPendingUploads();
      }
      killed = false;
      const workers = Array.from({ length: WORKERS }, () => workerLoop());
      // Random moment: early kills catch start-of-request states, later ones catch commits.
      await new Promise((r) => setTimeout(r, 200 + Math.random() * 1300));
      killed = true;
      await server.kill();
      await Promise.all(workers);
    }

    const crashLeft = await leftoverBlobFiles(server);
    t.diagnostic(`after the last kill: ${crashLeft.tempFiles.length} temp files, ${crashLeft.unknownBlobs.length} blob files without metadata (start-up removes them)`);
    await server.start();
    await checkPendingUploads();

    // Resume every surviving upload to completion: uploads must be usable after a crash.
    for (const a of resumable()) await multipart(a);

    const mustExist = (a: Attempt) => (a.kind === 'single' ? a.state === 'acked' : a.complete === 'acked' || a.mustExist);
    t.diagnostic(
      `attempts ${attempts.size}; single 201 ${stats.singleAcked}, single unanswered ${stats.singleUnknown}; parts 204 ${stats.partsAcked}; ` +
        `complete 201 ${stats.completesAcked}, complete unanswered ${stats.completesUnknown}; resumed ${stats.resumed}`,
    );
    assert.ok([...attempts.values()].filter(mustExist).length >= 5, 'the workload acknowledged too few archives to prove anything');

    // Check 1, through the API: inventory (live) plus an archive-retrieval job per visible archive.
    const probeJob = await g.initiateJob({ Type: 'inventory-retrieval', Format: 'JSON' });
    let apiChecked = false;
    if (probeJob.status === 202) {
      const done = await g.waitJob(String(probeJob.headers['x-amz-job-id']));
      assert.equal(done.StatusCode, 'Succeeded', JSON.stringify(done));
      const inv = await g.getJobOutput(done.JobId);
      assert.equal(inv.status, 200);
      const list: ArchiveView[] = inv.json().ArchiveList.map((x: any) => ({
        archiveId: x.ArchiveId,
        description: x.ArchiveDescription,
        size: x.Size,
        treeHash: x.SHA256TreeHash,
      }));
      checkVisible(list, 'inventory');
      // Retrieve every visible archive (including ones whose 201 was lost): none may be half-written.
      const jobs: { view: ArchiveView; jobId: string }[] = [];
      for (const view of list) {
        const r = await g.initiateJob({ Type: 'archive-retrieval', ArchiveId: view.archiveId });
        assert.equal(r.status, 202, r.body.toString());
        jobs.push({ view, jobId: String(r.headers['x-amz-job-id']) });
      }
      for (const { view, jobId } of jobs) {
        const j = await g.waitJob(jobId);
        assert.equal(j.StatusCode, 'Succeeded', JSON.stringify(j));
        const out = await g.getJobOutput(jobId);
        assert.equal(out.status, 200);
        const exp = attempts.get(view.description)!;
        if (sha256Hex(out.body) !== sha256Hex(bytesOf(exp))) problems.push(`GetJobOutput ${exp.desc}: bytes differ (${out.body.length} bytes, expected ${exp.size})`);
        if (out.headers['x-amz-sha256-tree-hash'] !== exp.treeHash) problems.push(`GetJobOutput ${exp.desc}: tree hash header ${out.headers['x-amz-sha256-tree-hash']}`);
      }
      apiChecked = true;
    } else {
      t.diagnostic(`InitiateJob answered ${probeJob.status}: archives verified through the store only`);
    }

    if (onPostgres()) {
      // A shared store's start-up leaves other processes' pending blobs to their leases (a live
      // process may be writing them): the killed processes' blobs go once their leases lapse in
      // domain time, at the next sweep. Lapse them (FIRN_LEASE is 60 s) and sweep now.
      await testControl(server.url, '/_firn/test/clock/advance', { seconds: 180 });
      await testControl(server.url, '/_firn/test/blobs/sweep');
    }

    // Check 2, underneath the API: the metadata store's live archives and the blob bytes.
    await server.stop();
    // The last start-up (embedded) or the sweep after the leases lapsed (PostgreSQL) cleaned what
    // the kills left, and everything since completed: no temp file and no blob file without
    // metadata (leaked space) may remain.
    const left = await leftoverBlobFiles(server);
    if (left.tempFiles.length) problems.push(`temp files left after a clean stop: ${left.tempFiles.join(', ')}`);
    if (left.unknownBlobs.length) problems.push(`${left.unknownBlobs.length} of ${left.blobFiles} blob files unknown to the metadata: ${left.unknownBlobs.slice(0, 5).join(', ')}`);
    const seen = await verifyArchivesThroughStore(server, VAULT, async (view, read) => {
      const exp = attempts.get(view.description);
      if (!exp) return;
      const bytes = await read();
      if (bytes.length !== exp.size || sha256Hex(bytes) !== sha256Hex(bytesOf(exp))) problems.push(`store ${exp.desc}: blob bytes differ (${bytes.length} bytes, expected ${exp.size})`);
    });
    checkVisible(seen, 'store');
    t.diagnostic(`${seen.length} archives visible; verified through ${apiChecked ? 'inventory + GetJobOutput and ' : ''}the store`);

    function checkVisible(list: ArchiveView[], where: string) {
      const byDesc = new Map<string, ArchiveView>();
      for (const v of list) {
        const exp = attempts.get(v.description);
        if (!exp) {
          problems.push(`${where}: archive ${v.archiveId} with unknown description ${JSON.stringify(v.description)}`);
          continue;
        }
        if (byDesc.has(v.description)) problems.push(`${where}: two archives for ${v.description}`);
        byDesc.set(v.description, v);
        if (v.size !== exp.size || v.treeHash !== exp.treeHash) problems.push(`${where}: ${v.description} listed as ${v.size} bytes / ${v.treeHash}, expected ${exp.size} / ${exp.treeHash}`);
      }
      for (const a of attempts.values()) {
        if (!mustExist(a)) continue;
        const v = byDesc.get(a.desc);
        if (!v) problems.push(`${where}: ${a.desc} (${a.kind}, acknowledged) is missing`);
        else if (a.archiveId && v.archiveId !== a.archiveId) problems.push(`${where}: ${a.desc} has archive id ${v.archiveId}, the 201 said ${a.archiveId}`);
      }
    }

    assert.deepEqual(problems, []);
  } finally {
    await server.kill();
    if (!process.env.FIRN_KEEP_DATA) rmSync(dataDir, { recursive: true, force: true });
  }
});
