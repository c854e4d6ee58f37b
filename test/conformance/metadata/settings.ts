import assert from 'node:assert/strict';
import type { SuiteContext } from '../metadata-suite.js';
import type { AdmissionRequest, AdmissionSnapshot, CapacityUnitRecord } from '../../../src/storage/metadata/types.js';
import { ACCOUNT, DAY, HOUR, REGION } from './fixtures.js';

const unit = (id: string, startAt: number, o: Partial<CapacityUnitRecord> = {}): CapacityUnitRecord => ({
  capacityId: id,
  accountId: ACCOUNT,
  region: REGION,
  startAt,
  expiresAt: startAt + 30 * DAY,
  ...o,
});

const req = (tier: AdmissionRequest['tier'], bytes: number, now: number, o: Partial<AdmissionRequest> = {}): AdmissionRequest => ({
  accountId: ACCOUNT,
  region: REGION,
  tier,
  bytes,
  now,
  standardRateWindowMs: HOUR,
  expeditedWindowMs: 5 * 60_000,
  ...o,
});

/** Data-retrieval policy, provisioned capacity and the admission ledger. */
export function settingsSection({ withStore }: SuiteContext): void {
  withStore('retrieval policy: none until set; set overwrites; per account and region', async (s) => {
    assert.equal(await s.settings.getRetrievalPolicy(ACCOUNT, REGION), null);
    await s.settings.setRetrievalPolicy(ACCOUNT, REGION, { strategy: 'BytesPerHour', bytesPerHour: 1_000_000n }, 1);
    assert.deepEqual(await s.settings.getRetrievalPolicy(ACCOUNT, REGION), { strategy: 'BytesPerHour', bytesPerHour: 1_000_000n });
    await s.settings.setRetrievalPolicy(ACCOUNT, REGION, { strategy: 'FreeTier', bytesPerHour: 5n }, 2);
    assert.deepEqual(await s.settings.getRetrievalPolicy(ACCOUNT, REGION), { strategy: 'FreeTier', bytesPerHour: null }, 'bytesPerHour only for BytesPerHour');
    assert.equal(await s.settings.getRetrievalPolicy(ACCOUNT, 'eu-west-1'), null);
    assert.equal(await s.settings.getRetrievalPolicy('999988887777', REGION), null);
  });

  withStore('provisioned capacity: at most maxUnits unexpired units; listed oldest first', async (s) => {
    assert.equal(await s.settings.purchaseCapacity(unit('c1', 1000), 2), true);
    assert.equal(await s.settings.purchaseCapacity(unit('c2', 2000), 2), true);
    assert.equal(await s.settings.purchaseCapacity(unit('c3', 3000), 2), false);
    assert.equal(await s.settings.purchaseCapacity(unit('e1', 3000, { region: 'eu-west-1' }), 2), true, 'each region has its own limit');
    assert.deepEqual(
      (await s.settings.listCapacity(ACCOUNT, REGION, 3000)).map((u) => u.capacityId),
      ['c1', 'c2'],
    );
    assert.deepEqual((await s.settings.listCapacity(ACCOUNT, REGION, 3000))[0], unit('c1', 1000));
    // Once c1 has expired (at expiresAt), a new unit fits and c1 is no longer listed.
    const later = 1000 + 30 * DAY;
    assert.equal(await s.settings.purchaseCapacity(unit('c4', later), 2), true);
    assert.deepEqual(
      (await s.settings.listCapacity(ACCOUNT, REGION, later)).map((u) => u.capacityId),
      ['c2', 'c4'],
    );
  });

  withStore('admission: the snapshot counts only admitted retrievals, in their windows', async (s) => {
    const seen: AdmissionSnapshot[] = [];
    const admit = (r: AdmissionRequest, verdict: string | null = null) =>
      s.settings.admitRetrieval(r, (snap) => {
        seen.push(snap);
        return verdict;
      });
    const t0 = 10 * DAY;
    assert.equal(await admit(req('Standard', 100, t0)), null);
    assert.equal(await admit(req('Standard', 50, t0 + HOUR / 2)), null);
    assert.equal(await admit(req('Standard', 1_000_000, t0 + HOUR / 2), 'refused'), 'refused', 'what decide returns is returned');
    assert.equal(await admit(req('Expedited', 7, t0 + HOUR / 2)), null);
    assert.equal(await admit(req('Bulk', 9, t0 + HOUR / 2)), null);
    await s.settings.purchaseCapacity(unit('c1', t0), 5);
    seen.length = 0;
    await admit(req('Standard', 1, t0 + HOUR / 2 + 1), 'look only');
    assert.deepEqual(seen[0], {
      policy: { strategy: 'None', bytesPerHour: null },
      standardBytesInRateWindow: 150,
      standardBytesLastDay: 150,
      expeditedInWindow: 1,
      activeCapacityUnits: 1,
    });
    seen.length = 0;
    // An hour after t0 the first retrieval leaves the rate window (it is (now − window, now]).
    await admit(req('Standard', 1, t0 + HOUR), 'look only');
    assert.equal(seen[0]!.standardBytesInRateWindow, 50);
    assert.equal(seen[0]!.standardBytesLastDay, 150);
    assert.equal(seen[0]!.expeditedInWindow, 0, 'the Expedited one is older than its 5-minute window');
    seen.length = 0;
    await admit(req('Standard', 1, t0 + DAY + HOUR / 2), 'look only');
    assert.equal(seen[0]!.standardBytesLastDay, 0);
    assert.equal(seen[0]!.expeditedInWindow, 0);
    seen.length = 0;
    await s.settings.setRetrievalPolicy(ACCOUNT, REGION, { strategy: 'BytesPerHour', bytesPerHour: 10n }, 1);
    await admit(req('Standard', 1, t0, { region: 'eu-west-1' }), 'look only');
    assert.deepEqual(seen[0]!.policy, { strategy: 'None', bytesPerHour: null }, 'other region: its own policy and ledger');
    assert.equal(seen[0]!.standardBytesInRateWindow, 0);
  });
}
