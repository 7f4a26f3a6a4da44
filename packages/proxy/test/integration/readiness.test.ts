// /readyz follows the proxy's dependencies: MinIO (a background probe) and, with multipart
// on, redis-server. Each is stopped and started again on the same port.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startMinio, startValkey } from '@s3seal/testkit';
import type { MinioServer, ValkeyServer } from '@s3seal/testkit';
import { startStack } from '../helpers/stack.js';
import type { Stack } from '../helpers/stack.js';

let minio: MinioServer;
let valkey: ValkeyServer;
let stack: Stack;
beforeAll(async () => {
  minio = await startMinio();
  valkey = await startValkey({ allowExternal: false });
  stack = await startStack({ minio, valkey, env: { S3SEAL_METRICS_LISTEN: '127.0.0.1:0' } });
});
afterAll(async () => {
  await stack?.stop();
  await minio?.stop();
  await valkey?.stop();
});

interface Readiness {
  readonly status: number;
  readonly checks: Record<string, { ok: boolean; detail?: string }>;
}

async function readiness(): Promise<Readiness> {
  const res = await fetch(`${stack.proxy.healthUrl!}/readyz`);
  const body = (await res.json()) as { checks: Readiness['checks'] };
  return { status: res.status, checks: body.checks };
}

/** Polls /readyz until it answers `status` (the probe runs every few seconds). */
async function readinessBecomes(status: number, timeoutMs = 30_000): Promise<Readiness> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await readiness();
    if (now.status === status) return now;
    if (Date.now() > deadline) throw new Error(`/readyz stayed ${now.status}: ${JSON.stringify(now.checks)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('readiness', () => {
  it('is ready with MinIO and redis-server up', async () => {
    const ready = await readinessBecomes(200);
    expect(ready.checks['upstream']).toMatchObject({ ok: true });
    expect(ready.checks['valkey']).toMatchObject({ ok: true });
  });

  it('turns 503 while MinIO is down, and 200 once it is back on its port', async () => {
    await minio.stop();
    const down = await readinessBecomes(503);
    expect(down.checks['upstream']).toMatchObject({ ok: false });
    expect(down.checks['valkey']).toMatchObject({ ok: true });
    minio = await startMinio({ restartOf: minio });
    expect((await readinessBecomes(200)).checks['upstream']).toMatchObject({ ok: true });
  });

  it('turns 503 while redis-server is down, and 200 once it is back on its port', async () => {
    await valkey.stop();
    const down = await readinessBecomes(503);
    expect(down.checks['valkey']).toMatchObject({ ok: false });
    expect(down.checks['upstream']).toMatchObject({ ok: true });
    valkey = await startValkey({ port: valkey.port });
    expect((await readinessBecomes(200)).checks['valkey']).toMatchObject({ ok: true });
  });
});
