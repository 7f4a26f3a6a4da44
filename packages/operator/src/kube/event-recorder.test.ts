import { beforeEach, describe, expect, it } from '@jest/globals';
import {
  ApiException,
  type CoreV1ApiCreateNamespacedEventRequest,
  type CoreV1ApiPatchNamespacedEventRequest,
  type CoreV1Event,
} from '@kubernetes/client-node';
import { pino } from 'pino';

import { type EventApi, EventRecorder, type InvolvedObject } from './event-recorder.js';

/** Events in memory: create refuses a taken name, patch merges into an existing one or 404s. */
class FakeEventApi implements EventApi {
  readonly events = new Map<string, CoreV1Event>();
  creates = 0;
  patches = 0;
  failWith: Error | undefined;

  async createNamespacedEvent(param: CoreV1ApiCreateNamespacedEventRequest): Promise<CoreV1Event> {
    await Promise.resolve();
    this.creates += 1;
    if (this.failWith !== undefined) throw this.failWith;
    const key = `${param.namespace}/${param.body.metadata?.name}`;
    if (this.events.has(key)) throw new ApiException(409, 'AlreadyExists', '{"reason":"AlreadyExists"}', {});
    this.events.set(key, param.body);
    return param.body;
  }

  async patchNamespacedEvent(param: CoreV1ApiPatchNamespacedEventRequest): Promise<CoreV1Event> {
    await Promise.resolve();
    this.patches += 1;
    if (this.failWith !== undefined) throw this.failWith;
    const key = `${param.namespace}/${param.name}`;
    const event = this.events.get(key);
    if (event === undefined) throw new ApiException(404, 'NotFound', '{"reason":"NotFound"}', {});
    const patched = { ...event, ...(param.body as Partial<CoreV1Event>) };
    this.events.set(key, patched);
    return patched;
  }

  only(): CoreV1Event {
    expect(this.events.size).toBe(1);
    return [...this.events.values()][0] as CoreV1Event;
  }
}

const policy: InvolvedObject = {
  apiVersion: 's3seal.io/v1alpha1',
  kind: 'EncryptionPolicy',
  name: 'backups',
  namespace: 'team-a',
  uid: '5c4e1f0a-0000-4000-8000-000000000001',
};

describe('EventRecorder', () => {
  let api: FakeEventApi;
  let now: number;
  let logLines: string[];
  let recorder: EventRecorder;

  beforeEach(() => {
    api = new FakeEventApi();
    now = Date.parse('2026-03-01T12:00:00.000Z');
    logLines = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => logLines.push(line) });
    recorder = new EventRecorder(api, { now: () => now, instance: 'operator-0', logger });
  });

  it('creates an Event about the object', async () => {
    await recorder.record(policy, 'Normal', 'KeyRotated', 'rotated to key version 3');
    const event = api.only();
    expect(event).toMatchObject({
      metadata: { namespace: 'team-a' },
      involvedObject: policy,
      type: 'Normal',
      reason: 'KeyRotated',
      message: 'rotated to key version 3',
      source: { component: 's3seal-operator', host: 'operator-0' },
      reportingComponent: 's3seal-operator',
      reportingInstance: 'operator-0',
      count: 1,
    });
    expect(event.metadata?.name).toMatch(/^backups\.[0-9a-f]+$/);
    expect(event.firstTimestamp).toEqual(new Date(now));
  });

  it('counts a repeat within the window on the same Event', async () => {
    await recorder.record(policy, 'Warning', 'UpstreamUnreachable', 'connect ECONNREFUSED');
    now += 30_000;
    await recorder.record(policy, 'Warning', 'UpstreamUnreachable', 'connect ECONNREFUSED');
    now += 30_000;
    await recorder.record(policy, 'Warning', 'UpstreamUnreachable', 'connect ECONNREFUSED');
    expect([api.creates, api.patches]).toEqual([1, 2]);
    const event = api.only();
    expect(event.count).toBe(3);
    expect(event.lastTimestamp).toBe(new Date(now).toISOString());
  });

  it('counts concurrent identical events on one Event', async () => {
    await Promise.all([1, 2, 3].map(() => recorder.record(policy, 'Normal', 'Synced', 'ok')));
    expect([api.creates, api.patches]).toEqual([1, 2]);
    expect(api.only().count).toBe(3);
  });

  it('keeps events that differ in type, reason, message or object apart', async () => {
    await recorder.record(policy, 'Normal', 'KeyRotated', 'v2');
    await recorder.record(policy, 'Normal', 'KeyRotated', 'v3');
    await recorder.record(policy, 'Warning', 'KeyRotated', 'v3');
    await recorder.record(policy, 'Warning', 'KeyRotationFailed', 'v3');
    await recorder.record({ ...policy, name: 'other' }, 'Warning', 'KeyRotationFailed', 'v3');
    expect([api.creates, api.patches]).toEqual([5, 0]);
  });

  it('creates a new Event once the window has passed', async () => {
    recorder = new EventRecorder(api, { now: () => now, dedupWindowMs: 60_000 });
    await recorder.record(policy, 'Normal', 'Synced', 'ok');
    now += 61_000;
    await recorder.record(policy, 'Normal', 'Synced', 'ok');
    expect([api.creates, api.patches]).toEqual([2, 0]);
  });

  it('creates a new Event when the counted one is gone (Event TTL)', async () => {
    await recorder.record(policy, 'Normal', 'Synced', 'ok');
    api.events.clear();
    await recorder.record(policy, 'Normal', 'Synced', 'ok');
    expect([api.creates, api.patches]).toEqual([2, 1]);
    expect(api.only().count).toBe(1);
  });

  it('puts events of cluster-scoped objects in default', async () => {
    await recorder.record({ apiVersion: 'v1', kind: 'Node', name: 'n1' }, 'Normal', 'Seen', 'x');
    expect(api.only().metadata?.namespace).toBe('default');
  });

  it('never rejects: a failure is logged as a warning', async () => {
    api.failWith = new ApiException(
      403,
      'Forbidden',
      '{"reason":"Forbidden","message":"events is forbidden"}',
      {},
    );
    await expect(recorder.record(policy, 'Warning', 'KeyRotationFailed', 'boom')).resolves.toBeUndefined();
    api.failWith = new Error('socket hang up');
    await expect(recorder.record(policy, 'Warning', 'KeyRotationFailed', 'boom')).resolves.toBeUndefined();
    const warnings = logLines.map((line) => JSON.parse(line) as { msg: string; err: string });
    expect(warnings.map((w) => w.msg)).toEqual(['could not record event', 'could not record event']);
    expect(warnings[0]?.err).toBe('HTTP 403: Forbidden: events is forbidden');
  });

  it('gives up on a hung apiserver after requestTimeoutMs', async () => {
    const hung: EventApi = {
      createNamespacedEvent: () => new Promise<never>(() => undefined),
      patchNamespacedEvent: () => new Promise<never>(() => undefined),
    };
    recorder = new EventRecorder(hung, {
      requestTimeoutMs: 50,
      logger: pino({ level: 'warn' }, { write: (line: string) => logLines.push(line) }),
    });
    await expect(recorder.record(policy, 'Normal', 'Synced', 'ok')).resolves.toBeUndefined();
    expect(logLines).toHaveLength(1);
    expect(logLines[0]).toContain('TimeoutError');
  });

  it('warns about a reason that is not UpperCamelCase and still records it', async () => {
    await recorder.record(policy, 'Normal', 'key-rotated', 'x');
    expect(api.creates).toBe(1);
    expect(logLines.map((line) => (JSON.parse(line) as { msg: string }).msg)).toEqual([
      'event reason is not UpperCamelCase',
    ]);
  });

  it('truncates long messages', async () => {
    await recorder.record(policy, 'Normal', 'Synced', 'x'.repeat(5000));
    expect(api.only().message?.length).toBe(1024);
  });
});
