import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterEach, describe, expect, it } from '@jest/globals';

import { loadConfig } from './config.js';
import { createHealthServer } from './health-server.js';
import type { ReadinessChecks } from './health-server.js';

const servers: Server[] = [];

async function serve(checks: ReadinessChecks): Promise<string> {
  const server = createHealthServer(checks);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

describe('the health listener', () => {
  it('answers /healthz while serving, and /readyz only when every dependency is there', async () => {
    let isValkeyUp = false;
    const url = await serve({
      keyring: () => ({ ok: true, detail: 'default v1' }),
      valkey: () => ({ ok: isValkeyUp, detail: isValkeyUp ? 'ready' : 'reconnecting' }),
    });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const notReady = await fetch(`${url}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({
      status: 'not ready',
      checks: { keyring: { ok: true, detail: 'default v1' }, valkey: { ok: false, detail: 'reconnecting' } },
    });
    isValkeyUp = true;
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
  });

  it('reports a check that throws as not ready, with its message', async () => {
    const url = await serve({
      keyring: () => {
        throw new Error('no keyring loaded');
      },
    });
    const res = await fetch(`${url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({
      checks: { keyring: { ok: false, detail: 'no keyring loaded' } },
    });
  });

  it('answers 404 elsewhere and 405 to other methods', async () => {
    const url = await serve({});
    expect((await fetch(`${url}/metrics-later`)).status).toBe(404);
    expect((await fetch(`${url}/healthz`, { method: 'POST' })).status).toBe(405);
  });
});

describe('metricsListen and valkeyPassword options', () => {
  const base = {
    S3SEAL_UPSTREAM: 'http://127.0.0.1:9000',
    S3SEAL_KEK_V1: Buffer.alloc(32).toString('base64'),
    S3SEAL_KEK_ACTIVE: 'v1',
    AWS_ACCESS_KEY_ID: 'AK',
    AWS_SECRET_ACCESS_KEY: 'SK',
  };

  it('parses the operations listener and refuses the S3 port for it', () => {
    expect(loadConfig([], { ...base, S3SEAL_METRICS_LISTEN: '0.0.0.0:9090' }).metricsListen).toEqual({
      host: '0.0.0.0',
      port: 9090,
    });
    expect(() =>
      loadConfig([], { ...base, S3SEAL_LISTEN: '127.0.0.1:8080', S3SEAL_METRICS_LISTEN: '0.0.0.0:8080' }),
    ).toThrow(/metricsListen must use another port/);
    expect(() => loadConfig([], { ...base, S3SEAL_METRICS_LISTEN: 'nine' })).toThrow(/metricsListen "nine"/);
  });

  it('keeps the Valkey password secret', () => {
    const config = loadConfig([], {
      ...base,
      S3SEAL_VALKEY_URL: 'redis://v:6379',
      S3SEAL_VALKEY_PASSWORD: 'hunter2',
    });
    expect(config.multipart?.valkey.password?.reveal()).toBe('hunter2');
    expect(JSON.stringify(config)).not.toContain('hunter2');
  });
});
