/**
 * Two Firn processes on one PostgreSQL schema (and, until the S3 store, one shared data directory
 * for the bytes): what one accepts, the other serves, and a job that one was running when it was
 * killed -9 completes on the survivor once the dead process's claim lease lapses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { ChildServer } from '../helpers/child-server.js';
import { RawGlacier, seededBytes, sha256Hex } from '../helpers/glacier-raw.js';
import { signedRequest } from '../helpers/server.js';
import { useTestPostgres } from '../helpers/postgres.js';
import { dropSchema, freshSchemaUrl } from '../helpers/metadata.js';
import { MiB, treeHash } from '../../src/domain/treehash.js';

useTestPostgres();

const VAULT = 'shared';

async function advanceClock(url: string, seconds: number): Promise<void> {
  const r = await signedRequest(url, { method: 'POST', path: '/_firn/test/clock/advance', body: JSON.stringify({ seconds }) });
  assert.equal(r.status, 200, `clock advance: ${r.status} ${r.body.toString()}`);
}

test('two processes on one PostgreSQL: upload on one, parts on both, the job a killed process was running completes on the survivor', { timeout: 240_000 }, async (t) => {
  const metadataUrl = await freshSchemaUrl();
  const dataDir = mkdtempSync(join(tmpdir(), 'firn-two-'));
  // Standard retrievals wait 3–5 h (FIRN_RETRIEVAL_TIMING=aws): nothing runs until a clock moves.
  const env = { FIRN_METADATA_URL: metadataUrl, FIRN_TEST_CONTROL: 'true', FIRN_RETRIEVAL_TIMING: 'aws' };
  const a = new ChildServer({ dataDir, env });
  const b = new ChildServer({ dataDir, env });
  const db = new pg.Client({ connectionString: metadataUrl });
  try {
    // Concurrent first starts: one migrates (advisory lock), both agree on the master key and the root account.
    await Promise.all([a.start(), b.start()]);
    await db.connect();
    const ga = new RawGlacier(a.url, VAULT);
    const gb = new RawGlacier(b.url, VAULT);
    assert.equal((await ga.createVault()).status, 201);

    // A single upload through A, visible through B.
    const small = seededBytes('two-small', 3 * MiB + 17);
    const up = await ga.uploadArchive(small, 'small');
    assert.equal(up.status, 201, up.body.toString());
    const smallId = String(up.headers['x-amz-archive-id']);
    const described = (await gb.req('GET', '')).json();
    assert.equal(described.NumberOfArchives, 1);
    assert.equal(described.SizeInBytes, small.length + 32 * 1024, 'the size plus the 32 KiB per-archive overhead AWS counts');

    // A multipart upload: initiated on A, parts alternating between A and B (out of order), completed on B.
    const partSize = 32 * MiB;
    const big = seededBytes('two-big', 8 * partSize - 12345);
    const init = await ga.initiateMultipart(partSize, 'big');
    assert.equal(init.status, 201, init.body.toString());
    const uploadId = String(init.headers['x-amz-multipart-upload-id']);
    const starts = Array.from({ length: Math.ceil(big.length / partSize) }, (_, i) => i * partSize).reverse();
    for (const [i, start] of starts.entries()) {
      const r = await (i % 2 ? gb : ga).uploadPart(uploadId, start, big.subarray(start, start + partSize));
      assert.equal(r.status, 204, `part at ${start}: ${r.status} ${r.body.toString()}`);
    }
    const listed = await ga.listAllParts(uploadId);
    assert.ok('parts' in listed);
    assert.equal(listed.parts.length, starts.length, 'A lists the parts B received');
    const done = await gb.completeMultipart(uploadId, big.length, treeHash(big));
    assert.equal(done.status, 201, done.body.toString());
    const bigId = String(done.headers['x-amz-archive-id']);

    // Jobs initiated on A. A moves its clock past the tier delay and starts running them; A is
    // killed -9 while it holds the claim on the big archive's retrieval (reading and verifying 256 MiB).
    const bigJob = await ga.initiateJob({ Type: 'archive-retrieval', ArchiveId: bigId, Tier: 'Standard' });
    assert.equal(bigJob.status, 202, bigJob.body.toString());
    const bigJobId = String(bigJob.headers['x-amz-job-id']);
    const smallJob = await gb.initiateJob({ Type: 'archive-retrieval', ArchiveId: smallId, Tier: 'Standard' });
    assert.equal(smallJob.status, 202, smallJob.body.toString());
    const smallJobId = String(smallJob.headers['x-amz-job-id']);

    const claimOf = async (jobId: string) =>
      (await db.query<{ claimed_by: string | null }>('SELECT q.claimed_by FROM job_queue q JOIN jobs j ON j.seq = q.job_seq WHERE j.job_id = $1', [jobId])).rows[0]?.claimed_by ?? null;
    // The advance answers when A's pass is over, which it will not live to see.
    let answered = false;
    const advancing = advanceClock(a.url, 6 * 3600).then(
      () => (answered = true),
      () => {},
    );
    let owner: string | null = null;
    const deadline = Date.now() + 60_000;
    while (!(owner = await claimOf(bigJobId)) && !answered) {
      if (Date.now() > deadline) assert.fail('A never claimed the job');
    }
    await a.kill();
    await advancing;
    assert.ok(owner, 'A ran the whole job before the test saw its claim; nothing was proved');
    t.diagnostic(`killed A (${owner}) while it held the claim on ${bigJobId.slice(0, 12)}…`);
    const after = (await gb.describeJob(bigJobId)).json();
    assert.equal(after.StatusCode, 'InProgress', 'the job was not completed by the killed process');

    // B's domain clock moves past the tier delay and past A's claim lease (A's clock + FIRN_LEASE):
    // B reclaims the job and completes it.
    await advanceClock(b.url, 7 * 3600);
    const j = await gb.waitJob(bigJobId);
    assert.equal(j.StatusCode, 'Succeeded', JSON.stringify(j));
    assert.equal(j.ArchiveSizeInBytes, big.length);
    assert.equal(j.SHA256TreeHash, treeHash(big));
    assert.equal(await claimOf(bigJobId), null, 'no claim is left on a completed job');
    assert.equal((await gb.waitJob(smallJobId)).StatusCode, 'Succeeded');

    // Outputs through B, then through a restarted A: any process serves any job's output.
    const whole = await gb.getJobOutput(bigJobId);
    assert.equal(whole.status, 200);
    assert.equal(sha256Hex(whole.body), sha256Hex(big));
    await a.start();
    const ranged = await ga.getJobOutput(bigJobId, `bytes=${5 * MiB}-${9 * MiB - 1}`);
    assert.equal(ranged.status, 206);
    assert.ok(ranged.body.equals(big.subarray(5 * MiB, 9 * MiB)));
    const smallOut = await ga.getJobOutput(smallJobId);
    assert.equal(smallOut.status, 200);
    assert.ok(smallOut.body.equals(small));
  } finally {
    await Promise.all([a.kill(), b.kill()]);
    await db.end().catch(() => {});
    await dropSchema(metadataUrl);
    rmSync(dataDir, { recursive: true, force: true });
  }
});
