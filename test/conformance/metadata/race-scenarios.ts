import type { JobOutcome, MetadataStore } from '../../../src/storage/metadata/types.js';
import { BlobLeaseLostError } from '../../../src/storage/metadata/errors.js';
import { archiveRecord, claimOf, leaves, pend, vaultKey } from './fixtures.js';

/**
 * What each racer does in the concurrency section. A scenario gets its own store handle, its index
 * (`me`) and a JSON argument, and returns JSON; the test sets the database up before and checks
 * it after through another handle.
 */
export const scenarios = {
  /** Only opens the store (the worker does) and writes one row through it. */
  async open(s: MetadataStore, me: number, _a: null) {
    await s.state.put(`racer-${me}`, 'here');
    return null;
  },

  /** Claims due jobs one at a time until none is left; returns the seqs claimed. */
  async claimJobs(s: MetadataStore, me: number, a: { now: number }) {
    const got: number[] = [];
    for (;;) {
      const c = await s.jobs.claimDue(a.now, `racer-${me}`, 60_000, 1);
      if (c.length === 0) return got;
      got.push(...c.map((x) => x.job.seq));
    }
  },

  /**
   * Completes every job with the same claim (held by `workerId`, first attempt; racers go in
   * opposite orders), each with one notification; returns the seqs this racer completed.
   */
  async completeJobs(s: MetadataStore, me: number, a: { seqs: number[]; workerId: string; now: number }) {
    const won: number[] = [];
    for (const seq of me % 2 === 0 ? a.seqs : [...a.seqs].reverse()) {
      const notifications = [{ topicArn: 'arn:topic', message: `${seq} by ${me}` }];
      const r = await s.jobs.complete({ seq, workerId: a.workerId, attempts: 1 }, { status: 'Succeeded', statusMessage: 'Succeeded', completedAt: a.now, expiresAt: a.now + 1000, notifications });
      if (r !== null && r !== 'archive-gone') won.push(seq);
    }
    return won;
  },

  /**
   * Racer 0 completes every job with the stale claim (`w-old`, attempt 1) it held before its lease
   * lapsed; racer 1 claims them one at a time as `w-new` (at `now`, after the lapse) and completes
   * each with its own claim. Each completion carries the racer's output blob (pending, begun by the
   * setup as `out-<seq>-<me>`) and one notification naming the racer. Returns the seqs it completed.
   */
  async completeOrReclaim(s: MetadataStore, me: number, a: { seqs: number[]; now: number }) {
    const won: number[] = [];
    const outcome = (seq: number): JobOutcome => ({
      status: 'Succeeded',
      statusMessage: `by ${me}`,
      completedAt: a.now,
      expiresAt: a.now + 1000,
      outputKey: `out-${seq}-${me}`,
      outputSize: 1,
      notifications: [{ topicArn: 'arn:topic', message: `${seq} by ${me}` }],
    });
    if (me === 0) {
      for (const seq of [...a.seqs].reverse()) {
        const r = await s.jobs.complete({ seq, workerId: 'w-old', attempts: 1 }, outcome(seq));
        if (r !== null && r !== 'archive-gone') won.push(seq);
      }
      return won;
    }
    for (;;) {
      const [c] = await s.jobs.claimDue(a.now, 'w-new', 60_000, 1);
      if (!c) return won;
      const r = await s.jobs.complete(claimOf(c, 'w-new'), outcome(c.job.seq));
      if (r !== null && r !== 'archive-gone') won.push(c.job.seq);
    }
  },

  /**
   * Racer 0 commits an archive over each pending blob `blob-<id>` (in reverse order), racer 1 reaps
   * lapsed pending blobs one at a time. Returns, for racer 0, the ids committed and the ids refused
   * with BlobLeaseLostError; for racer 1, how many it reaped.
   */
  async reapOrCommit(s: MetadataStore, me: number, a: { vaultId: number; ids: string[]; now: number }) {
    if (me === 1) {
      let reaped = 0;
      while ((await s.blobs.reapExpiredPending(a.now, 1)) === 1) reaped++;
      return { committed: [] as string[], lost: [] as string[], reaped };
    }
    const committed: string[] = [];
    const lost: string[] = [];
    for (const id of [...a.ids].reverse()) {
      try {
        await s.archives.create(archiveRecord(a.vaultId, id, { size: 3, blobKey: `blob-${id}` }), leaves(1));
        committed.push(id);
      } catch (e) {
        if (!(e instanceof BlobLeaseLostError) || e.blobKey !== `blob-${id}`) throw e;
        lost.push(id);
      }
    }
    return { committed, lost, reaped: 0 };
  },

  /** Adds `n` archives of sizes 1..n to the vault and deletes the even-sized ones. */
  async addAndDeleteArchives(s: MetadataStore, me: number, a: { vaultId: number; n: number }) {
    for (let i = 1; i <= a.n; i++) {
      await pend(s, `blob-r${me}-${i}`);
      await s.archives.create(archiveRecord(a.vaultId, `r${me}-${i}`, { size: i, createdAt: 1000 + i }), leaves(1, i));
      if (i % 2 === 0) await s.archives.delete(a.vaultId, `r${me}-${i}`, 1000 + i);
    }
    return null;
  },

  /** Deletes every listed archive; returns the ids this racer deleted. */
  async deleteArchives(s: MetadataStore, me: number, a: { vaultId: number; ids: string[] }) {
    const won: string[] = [];
    for (const id of me % 2 === 0 ? a.ids : [...a.ids].reverse()) if ((await s.archives.delete(a.vaultId, id, 5000)) === 'deleted') won.push(id);
    return won;
  },

  /** Adds its own tags one at a time under a limit; returns how many additions succeeded. */
  async addTags(s: MetadataStore, me: number, a: { vaultId: number; n: number; max: number }) {
    let ok = 0;
    for (let i = 0; i < a.n; i++) if (await s.vaults.addTags(a.vaultId, { [`r${me}-${i}`]: 'v' }, a.max)) ok++;
    return ok;
  },

  /** Creates its own vaults under a per-account limit; returns how many were created. */
  async createVaults(s: MetadataStore, me: number, a: { n: number; max: number }) {
    let ok = 0;
    for (let i = 0; i < a.n; i++) {
      const r = await s.vaults.create(vaultKey(`r${me}-${i}`), 1000, a.max);
      if ('vault' in r && r.created) ok++;
    }
    return ok;
  },

  /** Claims outbox rows two at a time until none is due; returns the ids claimed. */
  async claimOutbox(s: MetadataStore, _me: number, a: { now: number }) {
    const got: number[] = [];
    for (;;) {
      const rows = await s.outbox.claimDue(a.now, 2, 60_000);
      if (rows.length === 0) return got;
      got.push(...rows.map((r) => r.id));
    }
  },

  /** Buys capacity units under a limit; returns how many purchases succeeded. */
  async buyCapacity(s: MetadataStore, me: number, a: { n: number; max: number; now: number }) {
    let ok = 0;
    for (let i = 0; i < a.n; i++) {
      const unit = { capacityId: `r${me}-${i}`, accountId: '111122223333', region: 'us-east-1', startAt: a.now, expiresAt: a.now + 1_000_000 };
      if (await s.settings.purchaseCapacity(unit, a.max)) ok++;
    }
    return ok;
  },

  /** Asks for Standard retrievals of `bytes` each against a budget per hour; returns how many were admitted. */
  async admit(s: MetadataStore, _me: number, a: { n: number; bytes: number; budget: number; now: number }) {
    let ok = 0;
    for (let i = 0; i < a.n; i++) {
      const req = { accountId: '111122223333', region: 'us-east-1', tier: 'Standard' as const, bytes: a.bytes, now: a.now, standardRateWindowMs: 3_600_000, expeditedWindowMs: 300_000 };
      const verdict = await s.settings.admitRetrieval(req, (snap) => (snap.standardBytesInRateWindow + a.bytes > a.budget ? 'over' : null));
      if (verdict === null) ok++;
    }
    return ok;
  },

  /** Initiates a lock with its own id on every vault; returns the vaults where it won. */
  async initiateLocks(s: MetadataStore, me: number, a: { vaultIds: number[]; now: number }) {
    const won: number[] = [];
    for (const vaultId of me % 2 === 0 ? a.vaultIds : [...a.vaultIds].reverse()) {
      const r = await s.locks.initiate({ vaultId, lockId: `lock-${me}`, policy: '{}', state: 'InProgress', createdAt: a.now, expiresAt: a.now + 86_400_000 }, a.now);
      if (r.ok) won.push(vaultId);
    }
    return won;
  },

  /** Completes every upload (each has one part) with its own manifest; returns the uploads it completed. */
  async completeUploads(s: MetadataStore, me: number, a: { vaultId: number; uploadIds: string[] }) {
    const won: string[] = [];
    for (const u of me % 2 === 0 ? a.uploadIds : [...a.uploadIds].reverse()) {
      const archive = archiveRecord(a.vaultId, `${u}-by-${me}`, { blobKey: await pend(s, `manifest-${u}-${me}`), size: 10 });
      if ((await s.uploads.complete(u, archive, [`part-${u}`], 2000)) === 'ok') won.push(u);
    }
    return won;
  },

  /** Takes and drops `n` references on a blob, interleaved with the other racers. */
  async retainRelease(s: MetadataStore, _me: number, a: { blobKey: string; n: number }) {
    for (let i = 0; i < a.n; i++) await s.blobs.retain(a.blobKey);
    for (let i = 0; i < a.n; i++) await s.blobs.release(a.blobKey);
    return null;
  },
};

export type ScenarioName = keyof typeof scenarios;
export type ScenarioArg<N extends ScenarioName> = Parameters<(typeof scenarios)[N]>[2];
export type ScenarioResult<N extends ScenarioName> = Awaited<ReturnType<(typeof scenarios)[N]>>;
