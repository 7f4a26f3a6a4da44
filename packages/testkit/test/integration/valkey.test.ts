import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startValkey, type ValkeyServer } from '@s3seal/testkit';
import { Redis } from 'ioredis';

import { withEnv } from '../helpers/env.js';
import { isProcessGone, startTwo } from '../helpers/processes.js';

async function setGet(server: ValkeyServer, key: string): Promise<void> {
  const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
  try {
    await redis.set(key, `value of ${key}`);
    expect(await redis.get(key)).toBe(`value of ${key}`);
  } finally {
    redis.disconnect();
  }
}

describe('startValkey', () => {
  let valkey: ValkeyServer;

  beforeAll(async () => {
    // These tests are about the process the rig starts, whatever the developer's VALKEY_URL.
    valkey = await startValkey({ allowExternal: false });
  });

  afterAll(async () => {
    await valkey?.stop();
  });

  it('answers SET and GET through ioredis', async () => {
    expect(valkey.url).toBe(`redis://127.0.0.1:${valkey.port}`);
    await setGet(valkey, 'rig:key');
  });

  it('starts two servers side by side on distinct ports', async () => {
    const [a, b] = await startTwo(() => startValkey({ allowExternal: false }));
    try {
      expect(a.port).not.toBe(b.port);
      await Promise.all([setGet(a, 'rig:a'), setGet(b, 'rig:b')]);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('leaves no process behind after stop', async () => {
    const server = await startValkey({ allowExternal: false });
    expect(server.pid).toBeDefined();
    await server.stop();
    expect(isProcessGone(server.pid!)).toBe(true);
  });

  it('returns the server named by VALKEY_URL and leaves it running on stop', async () => {
    const external = await withEnv({ VALKEY_URL: valkey.url }, () => startValkey());
    expect(external).toMatchObject({ url: valkey.url, host: '127.0.0.1', port: valkey.port, pid: undefined });
    await external.stop();
    await setGet(valkey, 'rig:still-up');
  });
});
