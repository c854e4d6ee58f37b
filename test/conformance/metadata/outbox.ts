import assert from 'node:assert/strict';
import type { SuiteContext } from '../metadata-suite.js';

const LEASE = 30_000;

/** The notification outbox: at-least-once delivery with leases. */
export function outboxSection({ withStore }: SuiteContext): void {
  withStore('outbox: claimed rows get a lease and an attempt; delivered rows are never claimed again', async (s) => {
    assert.equal(await s.outbox.nextDueAt(), null);
    await s.outbox.enqueue([{ topicArn: 't1', message: 'm1' }, { topicArn: 't2', message: 'm2' }], 1000);
    await s.outbox.enqueue([{ topicArn: 't3', message: 'm3' }], 2000);
    assert.equal(await s.outbox.pendingCount(), 3);
    assert.equal(await s.outbox.nextDueAt(), 1000);
    assert.deepEqual(await s.outbox.claimDue(999, 10, LEASE), [], 'nothing is due before its time');

    const first = await s.outbox.claimDue(1500, 10, LEASE);
    assert.deepEqual(
      first.map((r) => r.message),
      ['m1', 'm2'],
    );
    assert.deepEqual(first[0], { id: first[0]!.id, topicArn: 't1', message: 'm1', createdAt: 1000, nextAttemptAt: 1500 + LEASE, attempts: 1, lastError: null, deliveredAt: null });
    assert.deepEqual(await s.outbox.get(first[0]!.id), first[0]);
    const m3 = await s.outbox.claimDue(2000, 10, LEASE);
    assert.deepEqual(m3.map((r) => r.message), ['m3'], 'leased rows are not claimed again while the lease runs');
    assert.deepEqual(await s.outbox.claimDue(2000, 10, LEASE), []);

    await s.outbox.markDelivered(first[0]!.id, 2100);
    await s.outbox.markFailed(first[1]!.id, 'connection refused', 50_000);
    const failed = await s.outbox.get(first[1]!.id);
    assert.equal(failed?.lastError, 'connection refused');
    assert.equal(failed?.nextAttemptAt, 50_000);
    assert.equal((await s.outbox.get(first[0]!.id))?.deliveredAt, 2100);
    assert.equal(await s.outbox.pendingCount(), 2);
    assert.equal(await s.outbox.nextDueAt(), 2000 + LEASE, "m3's lease ends before m2's retry");

    // After m3's lease lapses it is claimable again, with its attempts counted.
    const again = await s.outbox.claimDue(2000 + LEASE, 10, LEASE);
    assert.deepEqual(
      again.map((r) => [r.message, r.attempts]),
      [['m3', 2]],
    );
    const retried = await s.outbox.claimDue(50_000, 10, LEASE);
    assert.deepEqual(
      retried.map((r) => [r.message, r.attempts]),
      [['m2', 2]],
    );
    await s.outbox.markDelivered(retried[0]!.id, 50_001);
    await s.outbox.markFailed(retried[0]!.id, 'late failure', 9999);
    assert.equal((await s.outbox.get(retried[0]!.id))?.deliveredAt, 50_001, 'a failure report after delivery changes nothing');
    assert.equal(await s.outbox.get(424242), null);
  });

  withStore('outbox: claimDue honours its limit, oldest due first', async (s) => {
    await s.outbox.enqueue([{ topicArn: 't', message: 'b' }], 2000);
    await s.outbox.enqueue([{ topicArn: 't', message: 'a' }], 1000);
    await s.outbox.enqueue([{ topicArn: 't', message: 'c' }], 3000);
    assert.deepEqual(
      (await s.outbox.claimDue(5000, 2, LEASE)).map((r) => r.message),
      ['a', 'b'],
    );
    assert.deepEqual(
      (await s.outbox.claimDue(5000, 2, LEASE)).map((r) => r.message),
      ['c'],
    );
  });

  withStore('outbox: rescheduleAll makes every undelivered row due now and voids leases', async (s) => {
    await s.outbox.enqueue([{ topicArn: 't', message: 'a' }, { topicArn: 't', message: 'b' }, { topicArn: 't', message: 'c' }], 1000);
    const [a, b] = await s.outbox.claimDue(1000, 2, LEASE);
    await s.outbox.markDelivered(a!.id, 1100);
    await s.outbox.markFailed(b!.id, 'x', 90_000);
    assert.equal(await s.outbox.rescheduleAll(2000), 1, 'b (backing off); c was already due and a is delivered');
    assert.deepEqual(
      (await s.outbox.claimDue(2000, 10, LEASE)).map((r) => r.message),
      ['c', 'b'],
    );
  });
}
