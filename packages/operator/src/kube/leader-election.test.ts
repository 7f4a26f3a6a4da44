import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import {
  ApiException,
  type CoordinationV1ApiCreateNamespacedLeaseRequest,
  type CoordinationV1ApiReadNamespacedLeaseRequest,
  type CoordinationV1ApiReplaceNamespacedLeaseRequest,
  type V1Lease,
  type V1LeaseSpec,
  V1MicroTime,
} from '@kubernetes/client-node';

import { isExpired, LeaderElector, type LeaseApi, type StoppedLeadingReason } from './leader-election.js';

function status(code: number, reason: string): ApiException<string> {
  return new ApiException(
    code,
    'Unknown API Status Code!',
    JSON.stringify({ kind: 'Status', code, reason }),
    {},
  );
}

/**
 * One Lease in memory with the apiserver's optimistic concurrency: a replace must carry the
 * current resourceVersion. Stored as JSON, so times come back as strings, as from client-node.
 */
class FakeLeaseStore {
  private json: string | undefined;
  private resourceVersion = 0;
  /** Runs after each read is answered; lets a test write in between a read and a replace. */
  afterRead: (() => void) | undefined;

  lease(): V1Lease | undefined {
    return this.json === undefined ? undefined : (JSON.parse(this.json) as V1Lease);
  }

  put(lease: V1Lease): V1Lease {
    this.resourceVersion += 1;
    const stored = {
      ...lease,
      metadata: { ...lease.metadata, resourceVersion: String(this.resourceVersion) },
    };
    this.json = JSON.stringify(stored);
    return this.lease() as V1Lease;
  }

  /** A client of this store; `mode` makes its calls fail or hang, as across a network partition. */
  client(): LeaseApi & { mode: 'ok' | 'refused' | 'hang' } {
    const gate = async (): Promise<void> => {
      await Promise.resolve();
      if (api.mode === 'refused')
        throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      if (api.mode === 'hang') await new Promise<never>(() => undefined);
    };
    const api = {
      mode: 'ok' as 'ok' | 'refused' | 'hang',
      readNamespacedLease: async (_param: CoordinationV1ApiReadNamespacedLeaseRequest): Promise<V1Lease> => {
        await gate();
        const lease = this.lease();
        if (lease === undefined) throw status(404, 'NotFound');
        // The caller holds its copy; a write now lands between its read and its replace.
        this.afterRead?.();
        return lease;
      },
      createNamespacedLease: async (
        param: CoordinationV1ApiCreateNamespacedLeaseRequest,
      ): Promise<V1Lease> => {
        await gate();
        if (this.lease() !== undefined) throw status(409, 'AlreadyExists');
        return this.put(JSON.parse(JSON.stringify(param.body)) as V1Lease);
      },
      replaceNamespacedLease: async (
        param: CoordinationV1ApiReplaceNamespacedLeaseRequest,
      ): Promise<V1Lease> => {
        await gate();
        if (param.body.metadata?.resourceVersion !== this.lease()?.metadata?.resourceVersion) {
          throw status(409, 'Conflict');
        }
        return this.put(JSON.parse(JSON.stringify(param.body)) as V1Lease);
      },
    };
    return api;
  }
}

/** Moves the fake clock in 10 ms steps until `condition` holds; fails after `timeoutMs` of fake time. */
async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await jest.advanceTimersByTimeAsync(10);
  }
}

async function elapse(ms: number): Promise<void> {
  await jest.advanceTimersByTimeAsync(ms);
}

interface Candidate {
  elector: LeaderElector;
  api: ReturnType<FakeLeaseStore['client']>;
  run: Promise<void>;
  stopped: StoppedLeadingReason[];
  leaders: string[];
  signals: AbortSignal[];
}

describe('LeaderElector', () => {
  const candidates: Candidate[] = [];
  /** Leadership starts and ends of all candidates, in order, to check they never overlap. */
  const timeline: string[] = [];

  beforeEach(() => {
    jest.useFakeTimers();
  });

  afterEach(async () => {
    const stopped = Promise.all(candidates.map((c) => c.elector.stop()));
    await elapse(0);
    await stopped;
    candidates.length = 0;
    timeline.length = 0;
    jest.useRealTimers();
  });

  function candidate(
    store: FakeLeaseStore,
    identity: string,
    timing = { leaseDurationSeconds: 1, renewDeadlineMs: 600, retryPeriodMs: 100 },
  ): Candidate {
    const api = store.client();
    const c: Partial<Candidate> = { api, stopped: [], leaders: [], signals: [] };
    c.elector = new LeaderElector(api, {
      namespace: 'ns',
      leaseName: 's3seal-operator',
      identity,
      ...timing,
      callbacks: {
        onStartedLeading: (signal) => {
          timeline.push(`start ${identity}`);
          c.signals?.push(signal);
        },
        onStoppedLeading: (reason) => {
          timeline.push(`stop ${identity}`);
          c.stopped?.push(reason);
        },
        onNewLeader: (leader) => c.leaders?.push(leader),
      },
    });
    c.run = c.elector.run();
    candidates.push(c as Candidate);
    return c as Candidate;
  }

  it('elects exactly one of two candidates and keeps it', async () => {
    const store = new FakeLeaseStore();
    const a = candidate(store, 'a');
    const b = candidate(store, 'b');
    await waitFor(() => a.elector.isLeader() || b.elector.isLeader());
    const leader = a.elector.isLeader() ? a : b;
    const follower = leader === a ? b : a;
    // Longer than the lease: the leader renews and the follower never takes over.
    await elapse(1500);
    expect(leader.elector.isLeader()).toBe(true);
    expect(follower.elector.isLeader()).toBe(false);
    expect(store.lease()?.spec?.holderIdentity).toBe(leader.elector.identity);
    expect(store.lease()?.spec?.leaseTransitions).toBe(0);
    expect(follower.leaders).toEqual([leader.elector.identity]);
    expect(leader.leaders).toEqual([leader.elector.identity]);
  });

  it('hands over at once on release, well before the lease would expire', async () => {
    const store = new FakeLeaseStore();
    const timing = { leaseDurationSeconds: 30, renewDeadlineMs: 1000, retryPeriodMs: 100 };
    const a = candidate(store, 'a', timing);
    await waitFor(() => a.elector.isLeader());
    const b = candidate(store, 'b', timing);
    await waitFor(() => b.leaders.length > 0);

    const released = a.elector.release();
    await elapse(0);
    await released;
    await a.run;
    expect(a.stopped).toEqual(['released']);
    expect(a.signals[0]?.aborted).toBe(true);
    // 30 s lease: only the release lets b in within the 10 s waitFor.
    await waitFor(() => b.elector.isLeader());
    expect(store.lease()?.spec?.holderIdentity).toBe('b');
    expect(store.lease()?.spec?.leaseTransitions).toBe(1);
    expect(timeline).toEqual(['start a', 'stop a', 'start b']);
  });

  it('steps down when it cannot renew, and the other takes over only after the lease expired', async () => {
    const store = new FakeLeaseStore();
    const timing = { leaseDurationSeconds: 2, renewDeadlineMs: 1000, retryPeriodMs: 100 };
    const a = candidate(store, 'a', timing);
    await waitFor(() => a.elector.isLeader());
    const b = candidate(store, 'b', timing);
    a.api.mode = 'refused';
    const lastRenewal = Date.parse(String(store.lease()?.spec?.renewTime));
    await waitFor(() => a.stopped.length > 0);
    expect(a.stopped).toEqual(['lost']);
    expect(a.elector.isLeader()).toBe(false);
    // a gave up within renewDeadline, before its lease ran out.
    expect(Date.now()).toBeLessThan(lastRenewal + 2000);
    await a.run;
    await waitFor(() => b.elector.isLeader());
    const acquired = Date.parse(String(store.lease()?.spec?.acquireTime));
    expect(acquired).toBeGreaterThan(lastRenewal + 2000);
    expect(store.lease()?.spec?.leaseTransitions).toBe(1);
    expect(timeline).toEqual(['start a', 'stop a', 'start b']);
  });

  it('steps down within renewDeadline even when the apiserver hangs', async () => {
    const store = new FakeLeaseStore();
    const a = candidate(store, 'a', { leaseDurationSeconds: 2, renewDeadlineMs: 800, retryPeriodMs: 100 });
    await waitFor(() => a.elector.isLeader());
    a.api.mode = 'hang';
    await waitFor(() => a.stopped.length > 0, 5000);
    expect(a.stopped).toEqual(['lost']);
    await a.run;
  });

  it('takes over a lease abandoned without release once it expires, counting the transition', async () => {
    const store = new FakeLeaseStore();
    const timing = { leaseDurationSeconds: 1, renewDeadlineMs: 600, retryPeriodMs: 100 };
    const a = candidate(store, 'a', timing);
    await waitFor(() => a.elector.isLeader());
    const lastRenewal = Date.parse(String(store.lease()?.spec?.renewTime));
    const stopped = a.elector.stop();
    await elapse(0);
    await stopped;
    expect(a.stopped).toEqual(['stopped']);
    expect(store.lease()?.spec?.holderIdentity).toBe('a');

    const b = candidate(store, 'b', timing);
    await waitFor(() => b.elector.isLeader());
    const acquired = Date.parse(String(store.lease()?.spec?.acquireTime));
    expect(acquired).toBeGreaterThan(lastRenewal + 1000);
    expect(store.lease()?.spec?.leaseTransitions).toBe(1);
  });

  it('loses the race when another candidate writes between its read and its replace', async () => {
    const store = new FakeLeaseStore();
    const longAgo = new V1MicroTime(Date.now() - 60_000);
    store.put({
      metadata: { name: 's3seal-operator', namespace: 'ns' },
      spec: {
        holderIdentity: 'old',
        leaseDurationSeconds: 1,
        renewTime: longAgo,
        acquireTime: longAgo,
      },
    });
    store.afterRead = () => {
      store.afterRead = undefined;
      const current = store.lease() as V1Lease;
      store.put({
        ...current,
        spec: {
          ...current.spec,
          holderIdentity: 'sneaky',
          renewTime: new V1MicroTime(Date.now() + 60_000),
        },
      });
    };
    const a = candidate(store, 'a');
    await waitFor(() => a.leaders.includes('sneaky'));
    await elapse(300);
    expect(a.elector.isLeader()).toBe(false);
    expect(timeline).toEqual([]);
    expect(store.lease()?.spec?.holderIdentity).toBe('sneaky');
  });

  it('refuses timings that break the safety margins', () => {
    const api = new FakeLeaseStore().client();
    const base = { namespace: 'ns', leaseName: 'l', callbacks: { onStartedLeading: () => undefined } };
    expect(
      () => new LeaderElector(api, { ...base, leaseDurationSeconds: 10, renewDeadlineMs: 10_000 }),
    ).toThrow(RangeError);
    expect(() => new LeaderElector(api, { ...base, renewDeadlineMs: 2000, retryPeriodMs: 2000 })).toThrow(
      RangeError,
    );
    expect(() => new LeaderElector(api, { ...base, leaseDurationSeconds: 1.5 })).toThrow(RangeError);
    expect(new LeaderElector(api, base).identity).toMatch(/_[0-9a-f]{8}$/);
  });
});

/** A spec as client-node returns it from the apiserver: MicroTime fields stay strings. */
function wire(spec: Record<string, unknown>): V1LeaseSpec {
  return JSON.parse(JSON.stringify(spec)) as V1LeaseSpec;
}

describe('isExpired', () => {
  const now = Date.parse('2026-01-01T00:00:30.000Z');

  it('compares renewTime + leaseDurationSeconds with now, from strings or Dates', () => {
    expect(isExpired(wire({ renewTime: '2026-01-01T00:00:10.000000Z', leaseDurationSeconds: 15 }), now)).toBe(
      true,
    );
    expect(isExpired(wire({ renewTime: '2026-01-01T00:00:20.000000Z', leaseDurationSeconds: 15 }), now)).toBe(
      false,
    );
    expect(isExpired({ renewTime: new Date(now - 1000), leaseDurationSeconds: 15 }, now)).toBe(false);
  });

  it('treats a lease without times as expired', () => {
    expect(isExpired({ holderIdentity: 'x', leaseDurationSeconds: 15 }, now)).toBe(true);
  });
});
