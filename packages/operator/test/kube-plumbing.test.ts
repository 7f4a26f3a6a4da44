// The operator's Kubernetes plumbing against a real kube-apiserver (etcd + kube-apiserver from
// @s3seal/testkit): Lease election between two candidates, the resilient informer on labelled
// Secrets, and Event dedup. Each test works in its own namespace.
import { randomBytes } from 'node:crypto';

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  CoordinationV1Api,
  CoreV1Api,
  type KubeConfig,
  makeInformer,
  type V1Lease,
  type V1Secret,
} from '@kubernetes/client-node';
import { type KubeApi, startKubeApi } from '@s3seal/testkit';
import { pino } from 'pino';

import {
  createResilientInformer,
  EventRecorder,
  type InformerEventType,
  LeaderElector,
  ResilientInformer,
  type StoppedLeadingReason,
} from '../src/kube/index.js';

const log = pino({ level: 'silent' });
const LEASE = 's3seal-operator';

let kube: KubeApi;
let kc: KubeConfig;
let core: CoreV1Api;
let coordination: CoordinationV1Api;
/** Things to stop after each test, whatever its outcome. */
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  kube = await startKubeApi();
  kc = kube.kubeConfig();
  core = kc.makeApiClient(CoreV1Api);
  coordination = kc.makeApiClient(CoordinationV1Api);
});

afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

afterAll(async () => {
  await kube?.stop();
});

async function newNamespace(): Promise<string> {
  const name = `plumbing-${randomBytes(4).toString('hex')}`;
  await core.createNamespace({ body: { metadata: { name } } });
  return name;
}

/** Polls `condition` every 50 ms; fails after `timeoutMs` (generous: the machine is shared). */
async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function readLease(namespace: string): Promise<V1Lease> {
  return coordination.readNamespacedLease({ name: LEASE, namespace });
}

describe('LeaderElector on a real Lease', () => {
  interface Candidate {
    elector: LeaderElector;
    stopped: StoppedLeadingReason[];
    leaders: string[];
  }
  const timeline: string[] = [];

  beforeEach(() => {
    // Reset before, not after: the top-level afterEach stops the last test's leader, which
    // records its 'stop' after an inner afterEach would already have run.
    timeline.length = 0;
  });

  function candidate(
    namespace: string,
    identity: string,
    timing: { leaseDurationSeconds: number; renewDeadlineMs: number; retryPeriodMs: number },
  ): Candidate {
    const c: Candidate = { elector: undefined as unknown as LeaderElector, stopped: [], leaders: [] };
    c.elector = new LeaderElector(coordination, {
      namespace,
      leaseName: LEASE,
      identity,
      ...timing,
      logger: log,
      callbacks: {
        onStartedLeading: () => {
          timeline.push(`start ${identity}`);
        },
        onStoppedLeading: (reason) => {
          timeline.push(`stop ${identity}`);
          c.stopped.push(reason);
        },
        onNewLeader: (leader) => c.leaders.push(leader),
      },
    });
    const run = c.elector.run();
    cleanups.push(async () => {
      await c.elector.stop();
      await run;
    });
    return c;
  }

  it('elects exactly one of two candidates; on release the other takes over at once', async () => {
    const namespace = await newNamespace();
    // A 30 s lease: within the 20 s allowed below, only a release can let the other in.
    const timing = { leaseDurationSeconds: 30, renewDeadlineMs: 10_000, retryPeriodMs: 300 };
    const a = candidate(namespace, 'candidate-a', timing);
    const b = candidate(namespace, 'candidate-b', timing);
    await waitFor(() => a.elector.isLeader() || b.elector.isLeader());
    const [leader, follower] = a.elector.isLeader() ? [a, b] : [b, a];
    await waitFor(() => follower.leaders.length > 0);
    // Several renewals later the leader is unchanged and alone.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect([leader.elector.isLeader(), follower.elector.isLeader()]).toEqual([true, false]);
    expect(follower.leaders).toEqual([leader.elector.identity]);
    const held = await readLease(namespace);
    expect(held.spec?.holderIdentity).toBe(leader.elector.identity);
    expect(held.spec?.leaseTransitions).toBe(0);
    expect(held.spec?.leaseDurationSeconds).toBe(30);

    await leader.elector.release();
    expect(leader.stopped).toEqual(['released']);
    await waitFor(() => follower.elector.isLeader(), 20_000);
    const taken = await readLease(namespace);
    expect(taken.spec?.holderIdentity).toBe(follower.elector.identity);
    expect(taken.spec?.leaseTransitions).toBe(1);
    expect(timeline).toEqual([
      `start ${leader.elector.identity}`,
      `stop ${leader.elector.identity}`,
      `start ${follower.elector.identity}`,
    ]);
  });

  it('when the leader stops renewing, the other takes over after the lease expires', async () => {
    const namespace = await newNamespace();
    const timing = { leaseDurationSeconds: 2, renewDeadlineMs: 1500, retryPeriodMs: 300 };
    const a = candidate(namespace, 'candidate-a', timing);
    await waitFor(() => a.elector.isLeader());
    const b = candidate(namespace, 'candidate-b', timing);
    await waitFor(() => b.leaders.includes('candidate-a'));

    // A crash, as far as the Lease can tell: no more renewals and no release.
    await a.elector.stop();
    expect(a.stopped).toEqual(['stopped']);
    const abandoned = await readLease(namespace);
    expect(abandoned.spec?.holderIdentity).toBe('candidate-a');
    const lastRenewalMs = Date.parse(String(abandoned.spec?.renewTime));

    await waitFor(() => b.elector.isLeader());
    const taken = await readLease(namespace);
    expect(taken.spec?.holderIdentity).toBe('candidate-b');
    expect(taken.spec?.leaseTransitions).toBe(1);
    // b acquired only after a's lease (last renewal + 2 s) had run out.
    expect(Date.parse(String(taken.spec?.acquireTime))).toBeGreaterThan(lastRenewalMs + 2000);
    expect(timeline).toEqual(['start candidate-a', 'stop candidate-a', 'start candidate-b']);
  });

  it('a candidate started alone creates the Lease with microsecond times', async () => {
    const namespace = await newNamespace();
    const a = candidate(namespace, 'solo', {
      leaseDurationSeconds: 2,
      renewDeadlineMs: 1500,
      retryPeriodMs: 300,
    });
    await waitFor(() => a.elector.isLeader());
    const lease = await readLease(namespace);
    expect(lease.spec?.holderIdentity).toBe('solo');
    // client-node hands MicroTime back as the raw string (it has no deserializer for it).
    expect(String(lease.spec?.renewTime)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  });
});

describe('ResilientInformer on labelled Secrets', () => {
  const selector = 's3seal.io/test=plumbing';

  function secret(name: string, labelled: boolean, value: string): V1Secret {
    return {
      metadata: { name, labels: labelled ? { 's3seal.io/test': 'plumbing' } : { other: 'x' } },
      stringData: { value },
    };
  }

  it('reports adds, updates and deletes of matching Secrets only, and resyncs', async () => {
    const namespace = await newNamespace();
    await core.createNamespacedSecret({ namespace, body: secret('before-start', true, '1') });
    await core.createNamespacedSecret({ namespace, body: secret('unlabelled', false, '1') });

    const events: Array<[InformerEventType, string]> = [];
    const informer = createResilientInformer<V1Secret>(
      kc,
      `/api/v1/namespaces/${namespace}/secrets`,
      () => core.listNamespacedSecret({ namespace, labelSelector: selector }),
      {
        labelSelector: selector,
        name: 'secrets',
        handler: (type, obj) => events.push([type, obj.metadata?.name ?? '']),
        resyncPeriodMs: 2000,
        logger: log,
      },
    );
    informer.start();
    cleanups.push(() => informer.stop());
    await expect(informer.waitForSync()).resolves.toBe(true);
    expect(events).toEqual([['add', 'before-start']]);

    await core.createNamespacedSecret({ namespace, body: secret('created', true, '1') });
    await waitFor(() => events.some(([type, name]) => type === 'add' && name === 'created'));
    await core.replaceNamespacedSecret({ namespace, name: 'created', body: secret('created', true, '2') });
    await waitFor(() => events.some(([type, name]) => type === 'update' && name === 'created'));
    await core.deleteNamespacedSecret({ namespace, name: 'before-start' });
    await waitFor(() => events.some(([type, name]) => type === 'delete' && name === 'before-start'));
    expect(informer.list().map((s) => s.metadata?.name)).toEqual(['created']);
    expect(informer.get('created', namespace)?.data?.['value']).toBe(Buffer.from('2').toString('base64'));

    events.length = 0;
    await waitFor(() => events.some(([type, name]) => type === 'resync' && name === 'created'));
    expect(events.every(([type, name]) => type === 'resync' && name === 'created')).toBe(true);
    expect(events.some(([, name]) => name === 'unlabelled')).toBe(false);
  });

  it('restarts after a failed list and then syncs', async () => {
    const namespace = await newNamespace();
    await core.createNamespacedSecret({ namespace, body: secret('present', true, '1') });
    let lists = 0;
    const events: Array<[InformerEventType, string]> = [];
    const informer = new ResilientInformer<V1Secret>({
      name: 'secrets',
      factory: () =>
        makeInformer<V1Secret>(
          kc,
          `/api/v1/namespaces/${namespace}/secrets`,
          // The first list asks with a malformed selector: a real 400 from the apiserver, after
          // which client-node's informer emits 'error' and stops for good.
          () => {
            lists += 1;
            return core.listNamespacedSecret({ namespace, labelSelector: lists === 1 ? '!!bad' : selector });
          },
          selector,
        ),
      handler: (type, obj) => events.push([type, obj.metadata?.name ?? '']),
      restartBaseDelayMs: 200,
      logger: log,
    });
    informer.start();
    cleanups.push(() => informer.stop());
    await expect(informer.waitForSync()).resolves.toBe(true);
    expect(lists).toBe(2);
    expect(events).toEqual([['add', 'present']]);
    // The restarted informer watches: a new Secret still arrives.
    await core.createNamespacedSecret({ namespace, body: secret('later', true, '1') });
    await waitFor(() => events.some(([type, name]) => type === 'add' && name === 'later'));
  });
});

describe('EventRecorder on a real apiserver', () => {
  it('creates an Event, then counts a repeat on it', async () => {
    const namespace = await newNamespace();
    const configMap = await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'involved' }, data: { a: 'b' } },
    });
    const involved = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      name: 'involved',
      namespace,
      uid: configMap.metadata?.uid,
    };
    const warnings: string[] = [];
    const recorder = new EventRecorder(core, {
      instance: 'test-instance',
      logger: pino({ level: 'warn' }, { write: (line: string) => warnings.push(line) }),
    });
    await recorder.record(involved, 'Warning', 'KeyRotationFailed', 'upstream refused the key');
    await recorder.record(involved, 'Warning', 'KeyRotationFailed', 'upstream refused the key');
    await recorder.record(involved, 'Normal', 'KeyRotated', 'rotated to version 2');
    expect(warnings).toEqual([]);

    const list = await core.listNamespacedEvent({
      namespace,
      fieldSelector: 'involvedObject.name=involved',
    });
    const byReason = new Map(list.items.map((event) => [event.reason, event]));
    expect(list.items).toHaveLength(2);
    const failed = byReason.get('KeyRotationFailed');
    expect(failed).toMatchObject({
      type: 'Warning',
      count: 2,
      message: 'upstream refused the key',
      source: { component: 's3seal-operator', host: 'test-instance' },
      involvedObject: { kind: 'ConfigMap', name: 'involved', uid: configMap.metadata?.uid },
    });
    expect(new Date(failed?.lastTimestamp ?? 0).getTime()).toBeGreaterThanOrEqual(
      new Date(failed?.firstTimestamp ?? Date.now()).getTime(),
    );
    expect(byReason.get('KeyRotated')?.count).toBe(1);
  });

  it('never throws, even when the namespace does not exist', async () => {
    const warnings: string[] = [];
    const recorder = new EventRecorder(core, {
      logger: pino({ level: 'warn' }, { write: (line: string) => warnings.push(line) }),
    });
    await expect(
      recorder.record(
        { apiVersion: 'v1', kind: 'ConfigMap', name: 'x', namespace: 'no-such-namespace' },
        'Normal',
        'Seen',
        'x',
      ),
    ).resolves.toBeUndefined();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('HTTP 404');
  });
});
