/**
 * The job flow through @aws-sdk/client-glacier, unchanged, against a real listening server:
 * initiate / describe / list (paginator) / get-output, whole and ranged, with every chunk checked
 * against the tree hash header; inventories in JSON and CSV; Limit/Marker paging.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateVaultCommand,
  DeleteArchiveCommand,
  DescribeJobCommand,
  GetJobOutputCommand,
  InitiateJobCommand,
  paginateListJobs,
  UploadArchiveCommand,
  type GlacierClient,
} from '@aws-sdk/client-glacier';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { seededBytes } from '../helpers/glacier-raw.js';
import { MiB, treeHash } from '../../src/domain/treehash.js';

let s: TestServer;
let g: GlacierClient;
const vaultName = 'sdk-jobs';
before(async () => {
  s = await startTestServer({ config: { retrievalTiming: 'aws' } });
  g = s.glacier();
  await g.send(new CreateVaultCommand({ accountId: '-', vaultName }));
});
after(async () => {
  await s.close();
});

async function bodyBytes(out: { body?: unknown }): Promise<Buffer> {
  const b = out.body as { transformToByteArray(): Promise<Uint8Array> };
  return Buffer.from(await b.transformToByteArray());
}

async function complete(): Promise<void> {
  // Inventory jobs take 3–5 h with aws timing (Expedited 1–5 min).
  await s.advanceClock(5 * 3_600_000);
}

test('SDK: archive retrieval, whole and in 1 MiB ranges verified against x-amz-sha256-tree-hash', async () => {
  const bytes = seededBytes('sdk', 4 * MiB + 777);
  const up = await g.send(new UploadArchiveCommand({ accountId: '-', vaultName, body: bytes, archiveDescription: 'sdk archive' }));
  assert.equal(up.checksum, treeHash(bytes));
  const init = await g.send(
    new InitiateJobCommand({ accountId: '-', vaultName, jobParameters: { Type: 'archive-retrieval', ArchiveId: up.archiveId, Description: 'sdk job', Tier: 'Expedited' } }),
  );
  assert.equal(init.$metadata.httpStatusCode, 202);
  assert.equal(init.location, `/${s.accountId}/vaults/${vaultName}/jobs/${init.jobId}`);
  let d = await g.send(new DescribeJobCommand({ accountId: '-', vaultName, jobId: init.jobId }));
  assert.equal(d.StatusCode, 'InProgress');
  assert.equal(d.Completed, false);
  assert.equal(d.ArchiveSizeInBytes, bytes.length);
  assert.equal(d.ArchiveSHA256TreeHash, treeHash(bytes));
  assert.equal(d.Tier, 'Expedited');
  assert.equal(d.JobDescription, 'sdk job');
  await assert.rejects(
    g.send(new GetJobOutputCommand({ accountId: '-', vaultName, jobId: init.jobId })),
    (e: any) => e.name === 'InvalidParameterValueException' && e.message === `The job is not currently available for download: ${init.jobId}`,
  );
  await complete();
  d = await g.send(new DescribeJobCommand({ accountId: '-', vaultName, jobId: init.jobId }));
  assert.equal(d.StatusCode, 'Succeeded');
  assert.match(String(d.CompletionDate), /^\d{4}-\d\d-\d\dT/);

  const whole = await g.send(new GetJobOutputCommand({ accountId: '-', vaultName, jobId: init.jobId }));
  assert.equal(whole.status, 200);
  assert.equal(whole.checksum, treeHash(bytes));
  assert.equal(whole.archiveDescription, 'sdk archive');
  assert.equal(whole.acceptRanges, 'bytes');
  assert.equal(whole.contentType, 'application/octet-stream');
  assert.ok((await bodyBytes(whole)).equals(bytes));

  const parts: Buffer[] = [];
  for (let i = 0; i * MiB < bytes.length; i++) {
    const out = await g.send(new GetJobOutputCommand({ accountId: '-', vaultName, jobId: init.jobId, range: `bytes=${i * MiB}-${(i + 1) * MiB - 1}` }));
    const chunk = await bodyBytes(out);
    assert.equal(out.status, 206);
    assert.equal(out.contentRange, `bytes ${i * MiB}-${i * MiB + chunk.length - 1}/${bytes.length}`);
    assert.equal(out.checksum, treeHash(chunk), `chunk ${i}`);
    parts.push(chunk);
  }
  assert.ok(Buffer.concat(parts).equals(bytes));

  // Deleting the archive does not break the prepared output.
  await g.send(new DeleteArchiveCommand({ accountId: '-', vaultName, archiveId: up.archiveId }));
  const again = await g.send(new GetJobOutputCommand({ accountId: '-', vaultName, jobId: init.jobId, range: `bytes=${4 * MiB}-${5 * MiB}` }));
  assert.equal(again.checksum, treeHash(bytes.subarray(4 * MiB)));
  assert.ok((await bodyBytes(again)).equals(bytes.subarray(4 * MiB)));
});

test('SDK: inventories in JSON and CSV, Limit/Marker chain, ListJobs paginator in creation order', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    const up = await g.send(new UploadArchiveCommand({ accountId: '-', vaultName, body: Buffer.from(`inventory ${i}`), archiveDescription: `inv, "${i}"` }));
    ids.push(up.archiveId!);
    await s.advanceClock(1000);
  }
  const seen: string[] = [];
  let marker: string | undefined;
  const jobIds: string[] = [];
  for (let round = 0; ; round++) {
    const format = round % 2 === 0 ? 'JSON' : 'CSV';
    const init = await g.send(
      new InitiateJobCommand({
        accountId: '-',
        vaultName,
        jobParameters: { Type: 'inventory-retrieval', Format: format, InventoryRetrievalParameters: { Limit: '2', ...(marker ? { Marker: marker } : {}) } },
      }),
    );
    jobIds.push(init.jobId!);
    await complete();
    const d = await g.send(new DescribeJobCommand({ accountId: '-', vaultName, jobId: init.jobId }));
    assert.equal(d.StatusCode, 'Succeeded');
    assert.equal(d.InventoryRetrievalParameters?.Format, format);
    assert.equal(d.InventoryRetrievalParameters?.Limit, '2');
    const out = await g.send(new GetJobOutputCommand({ accountId: '-', vaultName, jobId: init.jobId }));
    assert.equal(out.contentType, format === 'JSON' ? 'application/json' : 'text/csv');
    assert.equal(out.checksum, undefined);
    const text = (await bodyBytes(out)).toString('utf8');
    assert.equal(Buffer.byteLength(text), d.InventorySizeInBytes);
    if (format === 'JSON') {
      for (const a of JSON.parse(text).ArchiveList) {
        seen.push(a.ArchiveId);
        assert.equal(a.ArchiveDescription, `inv, "${ids.indexOf(a.ArchiveId)}"`);
      }
    } else {
      for (const line of text.split('\n').slice(1, -1)) {
        const m = /^([A-Za-z0-9_-]+),"inv, \\"(\d)\\"",\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ,\d+,[0-9a-f]{64}$/.exec(line);
        assert.ok(m, line);
        assert.equal(ids.indexOf(m[1]!), Number(m[2]));
        seen.push(m[1]!);
      }
    }
    marker = d.InventoryRetrievalParameters?.Marker ?? undefined;
    if (!marker) break;
  }
  assert.deepEqual(seen, ids);
  assert.equal(jobIds.length, 3);

  const listed: string[] = [];
  for await (const page of paginateListJobs({ client: g, pageSize: 2 }, { accountId: '-', vaultName })) {
    assert.ok((page.JobList ?? []).length <= 2);
    listed.push(...(page.JobList ?? []).map((j) => j.JobId!));
  }
  assert.deepEqual(listed.slice(-3), jobIds);
  const completed: string[] = [];
  for await (const page of paginateListJobs({ client: g }, { accountId: '-', vaultName, statuscode: 'Succeeded', completed: 'true' })) {
    completed.push(...(page.JobList ?? []).map((j) => j.JobId!));
  }
  assert.deepEqual(completed, listed);
});
