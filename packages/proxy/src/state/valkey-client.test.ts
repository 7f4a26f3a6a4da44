import { describe, expect, it } from '@jest/globals';
import { Secret } from '../config.js';
import type { ValkeyConfig } from '../config.js';
import { planValkeyClient, redactCredentials } from './valkey-client.js';

const config = (url: string, extra: Partial<ValkeyConfig> = {}): ValkeyConfig => ({
  url: new Secret(url),
  sentinels: [],
  sentinelName: undefined,
  isCluster: false,
  tlsCaFile: undefined,
  password: undefined,
  ...extra,
});

describe('planValkeyClient', () => {
  it('connects to a standalone server with credentials and db from the URL, failing fast', () => {
    const plan = planValkeyClient(config('redis://app:p%40ss@valkey.example:6380/2'));
    expect(plan.kind).toBe('standalone');
    expect(plan.options).toMatchObject({
      host: 'valkey.example',
      port: 6380,
      db: 2,
      username: 'app',
      password: 'p@ss',
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
    });
    expect(plan.options).not.toHaveProperty('tls');
  });

  it('takes the password from its own option over the URL (a Kubernetes Secret, not the URL)', () => {
    const plan = planValkeyClient(
      config('redis://app:from-url@valkey.example', { password: new Secret('from-secret') }),
    );
    expect(plan.options).toMatchObject({ username: 'app', password: 'from-secret' });
  });

  it('uses TLS for rediss://, with a CA file when given', () => {
    const plan = planValkeyClient(config('rediss://valkey.example', { tlsCaFile: '/ca.pem' }), () =>
      Buffer.from('PEM'),
    );
    expect(plan.options).toMatchObject({
      port: 6379,
      tls: { servername: 'valkey.example', ca: Buffer.from('PEM') },
    });
  });

  it('sends no SNI server name for an IP address (RFC 6066), only for a host name', () => {
    const tlsOf = (url: string): unknown => (planValkeyClient(config(url)).options as { tls?: unknown }).tls;
    expect(tlsOf('rediss://10.0.0.5:6380')).toEqual({});
    expect(tlsOf('rediss://[::1]:6380')).toEqual({});
    expect(tlsOf('rediss://valkey.example:6380')).toEqual({ servername: 'valkey.example' });
  });

  it('asks sentinels for the primary', () => {
    const plan = planValkeyClient(
      config('redis://:secret@ignored:1', {
        sentinels: [
          { host: 's1', port: 26379 },
          { host: 's2', port: 26380 },
        ],
        sentinelName: 'mymaster',
      }),
    );
    expect(plan.kind).toBe('sentinel');
    expect(plan.options).toMatchObject({
      name: 'mymaster',
      password: 'secret',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
      ],
    });
  });

  it('seeds a cluster from the URL host', () => {
    const plan = planValkeyClient(config('redis://:pw@seed:7000', { isCluster: true }));
    if (plan.kind !== 'cluster') throw new Error(plan.kind);
    expect(plan.seeds).toEqual([{ host: 'seed', port: 7000 }]);
    expect(plan.options).toMatchObject({ enableOfflineQueue: false, redisOptions: { password: 'pw' } });
  });
});

describe('redactCredentials', () => {
  const replyError = (name: string, args: string[]): Error =>
    Object.assign(new Error('WRONGPASS invalid username-password pair'), { command: { name, args } });

  it('drops the arguments of a failed AUTH or HELLO, wherever it is in the chain', () => {
    const hello = replyError('hello', ['3', 'AUTH', 'app', 'pw-1']);
    const auth = replyError('auth', ['pw-2']);
    const cluster = Object.assign(new Error('Failed to refresh slots cache.'), { lastNodeError: auth });
    const outer = new Error('wrapped', { cause: cluster });
    expect(redactCredentials(hello)).toBe(hello);
    redactCredentials(outer);
    expect(hello).toMatchObject({ command: { name: 'hello', args: ['[redacted]'] } });
    expect(auth).toMatchObject({ command: { name: 'auth', args: ['[redacted]'] } });
  });

  it('keeps the arguments of other commands, and survives a cycle', () => {
    const err = replyError('hget', ['s3seal:mpu:{id}', 'state']);
    (err as Error & { cause?: unknown }).cause = err;
    redactCredentials(err);
    expect(err).toMatchObject({ command: { args: ['s3seal:mpu:{id}', 'state'] } });
  });
});
