import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  GetDataRetrievalPolicyCommand,
  ListProvisionedCapacityCommand,
  PurchaseProvisionedCapacityCommand,
  SetDataRetrievalPolicyCommand,
} from '@aws-sdk/client-glacier';
import { startTestServer, REGION, TEST_ACCOUNT, type TestServer } from '../helpers/server.js';
import { admitRetrieval, type RetrievalRequest } from '../../src/jobs/admission.js';
import { capacityExpiry } from '../../src/operations/policies/PurchaseProvisionedCapacity.js';
import type { OpContext } from '../../src/operations/types.js';
import { isGlacierError } from '../../src/domain/errors.js';

const GiB = 1024 ** 3;
const HOUR = 3_600_000;

let s: TestServer;
before(async () => {
  s = await startTestServer();
});
after(async () => {
  await s.close();
});

const put = (server: TestServer, body: unknown, region?: string) =>
  server.request({
    method: 'PUT',
    path: '/-/policies/data-retrieval',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    ...(region ? { region } : {}),
  });
const get = (server: TestServer, region?: string) => server.request({ method: 'GET', path: '/-/policies/data-retrieval', ...(region ? { region } : {}) });

/** What InitiateJob does for an archive retrieval, with this server's app and clock. */
function admit(server: TestServer, req: Partial<RetrievalRequest> & { bytes: number }, region = REGION): Promise<void> {
  const ctx = { app: server.running.app, now: server.clock.now(), accountId: TEST_ACCOUNT, region } as unknown as OpContext;
  return admitRetrieval(ctx, { vaultId: 1, tier: 'Standard', ...req });
}

async function rejected(p: Promise<void>): Promise<{ code: string; status: number; message: string }> {
  try {
    await p;
  } catch (e) {
    if (isGlacierError(e)) return { code: e.code, status: e.status, message: e.message };
    throw e;
  }
  assert.fail('expected the retrieval to be rejected');
}

test('GetDataRetrievalPolicy defaults to None, flat {"Policy":{"Rules":[…]}}', async () => {
  const r = await get(s, 'ap-south-1');
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/json');
  assert.equal(r.body.toString(), '{"Policy":{"Rules":[{"Strategy":"None"}]}}');
});

test('SetDataRetrievalPolicy round-trips each strategy; BytesPerHour only with its strategy', async () => {
  let r = await put(s, { Policy: { Rules: [{ Strategy: 'BytesPerHour', BytesPerHour: 10737418240 }] } });
  assert.equal(r.status, 204);
  assert.equal(r.body.length, 0);
  assert.deepEqual((await get(s)).json(), { Policy: { Rules: [{ BytesPerHour: 10737418240, Strategy: 'BytesPerHour' }] } });
  r = await put(s, { Policy: { Rules: [{ Strategy: 'FreeTier' }] } });
  assert.equal(r.status, 204);
  assert.deepEqual((await get(s)).json(), { Policy: { Rules: [{ Strategy: 'FreeTier' }] } });
  // An explicit null BytesPerHour is "not set".
  r = await put(s, { Policy: { Rules: [{ Strategy: 'None', BytesPerHour: null }] } });
  assert.equal(r.status, 204);
  assert.deepEqual((await get(s)).json(), { Policy: { Rules: [{ Strategy: 'None' }] } });
});

test('SetDataRetrievalPolicy validation (DG data-retrieval-policy)', async () => {
  const cases: [unknown, number, string, RegExp][] = [
    [{}, 400, 'MissingParameterValueException', /Policy/],
    [{ Policy: { Rules: [] } }, 400, 'InvalidParameterValueException', /exactly one rule/],
    [{ Policy: { Rules: [{ Strategy: 'None' }, { Strategy: 'FreeTier' }] } }, 400, 'InvalidParameterValueException', /exactly one rule/],
    [{ Policy: { Rules: 'x' } }, 400, 'InvalidParameterValueException', /list/],
    [{ Policy: { Rules: [{}] } }, 400, 'MissingParameterValueException', /Strategy/],
    [{ Policy: { Rules: [{ Strategy: 'Unlimited' }] } }, 400, 'InvalidParameterValueException', /strategy: Unlimited/],
    [{ Policy: { Rules: [{ Strategy: 'FreeTier', BytesPerHour: 5 }] } }, 400, 'InvalidParameterValueException', /only be set with the BytesPerHour strategy/],
    [{ Policy: { Rules: [{ Strategy: 'None', BytesPerHour: 5 }] } }, 400, 'InvalidParameterValueException', /only be set/],
    [{ Policy: { Rules: [{ Strategy: 'BytesPerHour' }] } }, 400, 'MissingParameterValueException', /BytesPerHour is required/],
    [{ Policy: { Rules: [{ Strategy: 'BytesPerHour', BytesPerHour: 0 }] } }, 400, 'InvalidParameterValueException', /from 1 to/],
    [{ Policy: { Rules: [{ Strategy: 'BytesPerHour', BytesPerHour: 1.5 }] } }, 400, 'InvalidParameterValueException', /from 1 to/],
    [{ Policy: { Rules: [{ Strategy: 'BytesPerHour', BytesPerHour: '100' }] } }, 400, 'InvalidParameterValueException', /from 1 to/],
  ];
  await put(s, { Policy: { Rules: [{ Strategy: 'FreeTier' }] } }, 'eu-north-1');
  for (const [body, status, code, re] of cases) {
    const r = await put(s, body, 'eu-north-1');
    assert.equal(r.status, status, JSON.stringify(body));
    assert.equal(r.json().code, code, JSON.stringify(body));
    assert.match(r.json().message, re, JSON.stringify(body));
  }
  assert.deepEqual((await get(s, 'eu-north-1')).json(), { Policy: { Rules: [{ Strategy: 'FreeTier' }] } }, 'a rejected PUT changes nothing');
});

test('BytesPerHour at the 64-bit limits: exact from request body to storage and back; 2^63 and beyond refused', async () => {
  const region = 'ca-central-1';
  const body = (n: string) => `{"Policy":{"Rules":[{"Strategy":"BytesPerHour","BytesPerHour":${n}}]}}`;
  const putRaw = (n: string) => s.request({ method: 'PUT', path: '/-/policies/data-retrieval', headers: { 'content-type': 'application/json' }, body: body(n), region });
  for (const n of ['9007199254740993', '9223372036854775807', '9007199254740991']) {
    assert.equal((await putRaw(n)).status, 204, n);
    const r = await get(s, region);
    // The exact digits on the wire (JSON.parse on the client side would round them again).
    assert.equal(r.body.toString(), `{"Policy":{"Rules":[{"BytesPerHour":${n},"Strategy":"BytesPerHour"}]}}`, n);
  }
  // A policy of 2^63−1 bytes per hour admits any retrieval: the comparison is exact, not a double's.
  await admit(s, { bytes: 1024 * GiB }, region);
  for (const n of ['9223372036854775808', '18446744073709551616', '-9223372036854775808', '1e19', '9223372036854775807.0', '9007199254740993.5', '0', '-1']) {
    const r = await putRaw(n);
    assert.equal(r.status, 400, n);
    assert.equal(r.json().code, 'InvalidParameterValueException', n);
    assert.match(r.json().message, /It must be an integer from 1 to 9223372036854775807$/, n);
  }
  assert.equal((await putRaw('9223372036854775808')).json().message.startsWith('Invalid BytesPerHour: 9223372036854775808.'), true, 'the value is echoed exactly');
  assert.equal((await get(s, region)).body.toString(), body('9007199254740991').replace('"Strategy":"BytesPerHour","BytesPerHour":9007199254740991', '"BytesPerHour":9007199254740991,"Strategy":"BytesPerHour"'), 'a refused PUT changes nothing');
});

test('the policy is per region, and the real SDK reads and writes it', async () => {
  const g = s.glacier({ region: 'us-west-2' });
  await g.send(new SetDataRetrievalPolicyCommand({ accountId: '-', Policy: { Rules: [{ Strategy: 'BytesPerHour', BytesPerHour: 1048576 }] } }));
  const out = await g.send(new GetDataRetrievalPolicyCommand({ accountId: '-' }));
  assert.deepEqual(out.Policy, { Rules: [{ Strategy: 'BytesPerHour', BytesPerHour: 1048576 }] });
  const other = await s.glacier({ region: 'us-west-1' }).send(new GetDataRetrievalPolicyCommand({ accountId: '-' }));
  assert.deepEqual(other.Policy, { Rules: [{ Strategy: 'None' }] });
});

test('capacity expiry: one month to the second, clamped to the month end, milliseconds dropped', () => {
  const iso = (t: string) => new Date(capacityExpiry(Date.parse(t))).toISOString();
  assert.equal(iso('2017-01-31T14:26:33.031Z'), '2017-02-28T14:26:33.000Z', 'DG sample');
  assert.equal(iso('2024-01-31T00:00:00.999Z'), '2024-02-29T00:00:00.000Z', 'leap year');
  assert.equal(iso('2026-12-15T23:59:59.500Z'), '2027-01-15T23:59:59.000Z', 'year boundary');
  assert.equal(iso('2026-03-31T10:00:00.000Z'), '2026-04-30T10:00:00.000Z');
});

test('PurchaseProvisionedCapacity: 201 + x-amz-capacity-id, two units at most, then LimitExceededException; units expire after a month', async () => {
  const t = await startTestServer();
  try {
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await t.request({ method: 'POST', path: '/-/provisioned-capacity' });
      assert.equal(r.status, 201);
      assert.match(String(r.headers['x-amz-capacity-id']), /^[A-Za-z0-9]{24}$/);
      assert.equal(r.body.length, 0);
      ids.push(String(r.headers['x-amz-capacity-id']));
    }
    const third = await t.request({ method: 'POST', path: '/-/provisioned-capacity' });
    assert.equal(third.status, 400);
    assert.equal(third.json().code, 'LimitExceededException');
    assert.equal(third.json().type, 'Client');

    const list = await t.request({ method: 'GET', path: '/-/provisioned-capacity' });
    assert.equal(list.status, 200);
    const units = list.json().ProvisionedCapacityList;
    assert.equal(units.length, 2);
    assert.deepEqual(Object.keys(units[0]), ['CapacityId', 'ExpirationDate', 'StartDate']);
    assert.deepEqual(units.map((u: any) => u.CapacityId).sort(), [...ids].sort());
    for (const u of units) {
      assert.match(u.StartDate, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.equal(u.ExpirationDate, new Date(capacityExpiry(Date.parse(u.StartDate))).toISOString());
    }

    // Through the SDK: the same error code reaches the caller.
    const g = t.glacier();
    await assert.rejects(g.send(new PurchaseProvisionedCapacityCommand({ accountId: '-' })), (e: any) => e.name === 'LimitExceededException');

    t.clock.advance(32 * 24 * HOUR);
    const after = await g.send(new ListProvisionedCapacityCommand({ accountId: '-' }));
    assert.deepEqual(after.ProvisionedCapacityList, [], 'expired units are gone');
    const again = await g.send(new PurchaseProvisionedCapacityCommand({ accountId: '-' }));
    assert.match(again.capacityId ?? '', /^[A-Za-z0-9]{24}$/);
  } finally {
    await t.close();
  }
});

test('BytesPerHour: each Standard retrieval counts bytes/4 per hour for 4 hours; over the limit → PolicyEnforcedException', async () => {
  const t = await startTestServer();
  try {
    // Admitted before any policy exists: still counts once a policy is set (it is in progress).
    await admit(t, { bytes: 2 * GiB });
    assert.equal((await put(t, { Policy: { Rules: [{ Strategy: 'BytesPerHour', BytesPerHour: GiB }] } })).status, 204);
    // 2 GiB in flight = 0.5 GiB/h; 2 GiB more brings it to exactly 1 GiB/h: allowed.
    await admit(t, { bytes: 2 * GiB });
    const r = await rejected(admit(t, { bytes: 1 }));
    assert.equal(r.code, 'PolicyEnforcedException');
    assert.equal(r.status, 400);
    assert.match(r.message, /bytes per hour/);
    // Neither Expedited nor Bulk is subject to the policy.
    await admit(t, { bytes: 100 * GiB, tier: 'Expedited' });
    await admit(t, { bytes: 100 * GiB, tier: 'Bulk' });
    // The policy is per region.
    await admit(t, { bytes: 100 * GiB }, 'eu-west-1');
    // A rejected request is not recorded: after 4 hours the window is empty again.
    t.clock.advance(4 * HOUR + 1000);
    await admit(t, { bytes: 4 * GiB });
    await rejected(admit(t, { bytes: 1 }));
    // A single retrieval too large for the rate on its own is always rejected.
    t.clock.advance(5 * HOUR);
    assert.equal((await rejected(admit(t, { bytes: 4 * GiB + 4 }))).code, 'PolicyEnforcedException');
    // Back to None: anything goes.
    await put(t, { Policy: { Rules: [{ Strategy: 'None' }] } });
    await admit(t, { bytes: 1000 * GiB });
  } finally {
    await t.close();
  }
});

test('FreeTier: a rolling 24-hour budget of Standard retrieval bytes (FIRN_FREE_TIER_BYTES_PER_DAY)', async () => {
  const t = await startTestServer({ config: { freeTierBytesPerDay: 1000 } });
  try {
    await put(t, { Policy: { Rules: [{ Strategy: 'FreeTier' }] } });
    await admit(t, { bytes: 600 });
    t.clock.advance(12 * HOUR);
    await admit(t, { bytes: 400 });
    const r = await rejected(admit(t, { bytes: 1 }));
    assert.equal(r.code, 'PolicyEnforcedException');
    assert.match(r.message, /free tier/);
    await admit(t, { bytes: 5000, tier: 'Bulk' });
    // The first 600 bytes leave the window 24 h after they were admitted.
    t.clock.advance(12 * HOUR + 1000);
    await admit(t, { bytes: 600 });
    await rejected(admit(t, { bytes: 1 }));
  } finally {
    await t.close();
  }
});

test('FIRN_PROVISIONED_CAPACITY=enforce: Expedited draws on units, 3 per unit per 5 minutes, else InsufficientCapacityException', async () => {
  const t = await startTestServer({ config: { provisionedCapacity: 'enforce' } });
  try {
    let r = await rejected(admit(t, { bytes: 1, tier: 'Expedited' }));
    assert.equal(r.code, 'InsufficientCapacityException');
    assert.match(r.message, /no provisioned capacity/);
    await admit(t, { bytes: 1, tier: 'Standard' });
    await admit(t, { bytes: 1, tier: 'Bulk' });

    assert.equal((await t.request({ method: 'POST', path: '/-/provisioned-capacity' })).status, 201);
    for (let i = 0; i < 3; i++) await admit(t, { bytes: GiB, tier: 'Expedited' });
    r = await rejected(admit(t, { bytes: 1, tier: 'Expedited' }));
    assert.equal(r.code, 'InsufficientCapacityException');
    assert.match(r.message, /1 unit, 3 Expedited retrievals per 5 minutes/);

    t.clock.advance(5 * 60_000 + 1);
    for (let i = 0; i < 3; i++) await admit(t, { bytes: 1, tier: 'Expedited' });
    await rejected(admit(t, { bytes: 1, tier: 'Expedited' }));
    assert.equal((await t.request({ method: 'POST', path: '/-/provisioned-capacity' })).status, 201);
    for (let i = 0; i < 3; i++) await admit(t, { bytes: 1, tier: 'Expedited' });
    await rejected(admit(t, { bytes: 1, tier: 'Expedited' }));

    // Units expire a month after purchase; then Expedited fails again.
    t.clock.advance(32 * 24 * HOUR);
    assert.equal((await rejected(admit(t, { bytes: 1, tier: 'Expedited' }))).code, 'InsufficientCapacityException');
  } finally {
    await t.close();
  }
});

test('default (unlimited Expedited): Expedited retrievals are never refused', async () => {
  for (let i = 0; i < 10; i++) await admit(s, { bytes: GiB, tier: 'Expedited' }, 'sa-east-1');
});

test('through InitiateJob: the policy rejects a Standard retrieval with PolicyEnforcedException and the job is not stored', async () => {
  const t = await startTestServer();
  try {
    const MiB = 1024 * 1024;
    assert.equal((await t.request({ method: 'PUT', path: '/-/vaults/limited' })).status, 201);
    const g = t.glacier();
    const { UploadArchiveCommand, InitiateJobCommand, ListJobsCommand } = await import('@aws-sdk/client-glacier');
    const up = await g.send(new UploadArchiveCommand({ accountId: '-', vaultName: 'limited', body: Buffer.alloc(3 * MiB, 1) }));
    assert.equal((await put(t, { Policy: { Rules: [{ Strategy: 'BytesPerHour', BytesPerHour: MiB }] } })).status, 204);
    const initiate = (params: Record<string, string>) =>
      t.request({
        method: 'POST',
        path: '/-/vaults/limited/jobs',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ Type: 'archive-retrieval', ArchiveId: up.archiveId, ...params }),
      });
    // 3 MiB over 4 hours = 0.75 MiB/h, then a 1 MiB range: exactly 1 MiB/h. Both fit.
    assert.equal((await initiate({})).status, 202);
    assert.equal((await initiate({ RetrievalByteRange: `0-${MiB - 1}` })).status, 202);
    const r = await initiate({ RetrievalByteRange: `0-${MiB - 1}` });
    assert.equal(r.status, 400);
    assert.equal(r.json().code, 'PolicyEnforcedException');
    assert.equal(r.json().type, 'Client');
    // Not subject to the policy.
    assert.equal((await initiate({ Tier: 'Bulk' })).status, 202);
    assert.equal((await initiate({ Tier: 'Expedited' })).status, 202);
    // The SDK surfaces the modelled exception.
    await assert.rejects(
      g.send(new InitiateJobCommand({ accountId: '-', vaultName: 'limited', jobParameters: { Type: 'archive-retrieval', ArchiveId: up.archiveId!, Tier: 'Standard' } })),
      (e: any) => e.name === 'PolicyEnforcedException' && e.$metadata.httpStatusCode === 400,
    );
    // Inventory retrievals are not archive retrievals: never limited.
    assert.equal(
      (await t.request({ method: 'POST', path: '/-/vaults/limited/jobs', headers: { 'content-type': 'application/json' }, body: '{"Type":"inventory-retrieval"}' })).status,
      202,
    );
    const jobs = await g.send(new ListJobsCommand({ accountId: '-', vaultName: 'limited' }));
    assert.equal(jobs.JobList!.length, 5, 'the two rejected jobs were not stored');
  } finally {
    await t.close();
  }
});

test('through InitiateJob with FIRN_PROVISIONED_CAPACITY=enforce: InsufficientCapacityException, then Expedited works once a unit is bought', async () => {
  const t = await startTestServer({ config: { provisionedCapacity: 'enforce' } });
  try {
    assert.equal((await t.request({ method: 'PUT', path: '/-/vaults/fast' })).status, 201);
    const g = t.glacier();
    const { UploadArchiveCommand, InitiateJobCommand } = await import('@aws-sdk/client-glacier');
    const up = await g.send(new UploadArchiveCommand({ accountId: '-', vaultName: 'fast', body: Buffer.from('expedite me') }));
    const expedited = () =>
      g.send(new InitiateJobCommand({ accountId: '-', vaultName: 'fast', jobParameters: { Type: 'archive-retrieval', ArchiveId: up.archiveId!, Tier: 'Expedited' } }));
    await assert.rejects(expedited(), (e: any) => e.name === 'InsufficientCapacityException');
    await g.send(new PurchaseProvisionedCapacityCommand({ accountId: '-' }));
    for (let i = 0; i < 3; i++) assert.match((await expedited()).jobId ?? '', /^[A-Za-z0-9_-]{92}$/);
    await assert.rejects(expedited(), (e: any) => e.name === 'InsufficientCapacityException');
  } finally {
    await t.close();
  }
});

test('a policy set later does not affect jobs already in progress: they complete Succeeded', async () => {
  const t = await startTestServer({ config: { timingStandard: 3 * HOUR } });
  try {
    const { UploadArchiveCommand, InitiateJobCommand, DescribeJobCommand } = await import('@aws-sdk/client-glacier');
    assert.equal((await t.request({ method: 'PUT', path: '/-/vaults/inflight' })).status, 201);
    const g = t.glacier();
    const up = await g.send(new UploadArchiveCommand({ accountId: '-', vaultName: 'inflight', body: Buffer.alloc(2 * 1024 * 1024, 3) }));
    const job = await g.send(
      new InitiateJobCommand({ accountId: '-', vaultName: 'inflight', jobParameters: { Type: 'archive-retrieval', ArchiveId: up.archiveId! } }),
    );
    // Far too small for that job: new requests are refused, the running one is left alone.
    assert.equal((await put(t, { Policy: { Rules: [{ Strategy: 'BytesPerHour', BytesPerHour: 1 }] } })).status, 204);
    await assert.rejects(
      g.send(new InitiateJobCommand({ accountId: '-', vaultName: 'inflight', jobParameters: { Type: 'archive-retrieval', ArchiveId: up.archiveId! } })),
      (e: any) => e.name === 'PolicyEnforcedException',
    );
    t.clock.advance(3 * HOUR + 1000);
    await t.running.app.jobs.runDue();
    const d = await g.send(new DescribeJobCommand({ accountId: '-', vaultName: 'inflight', jobId: job.jobId! }));
    assert.equal(d.StatusCode, 'Succeeded');
  } finally {
    await t.close();
  }
});
