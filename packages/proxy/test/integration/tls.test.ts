// TLS on both sides: the S3 listener serving HTTPS from files that are swapped as a mounted
// Secret is (the `..data` link), and an https upstream signed by a private CA: a TLS terminator
// in front of MinIO, as an ingress or a MinIO with --certs-dir would be.
import { mkdtemp, mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';
import type { Server as TlsServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestCa, LOOPBACK_NAMES, startMinio } from '@s3seal/testkit';
import type { CertifiedKey, MinioServer, TestCa } from '@s3seal/testkit';
import { pino } from 'pino';
import { errorCode, sendSigned } from '../helpers/raw-request.js';
import type { RawTarget } from '../helpers/raw-request.js';
import { expectCiphertextAtRest, recognisable, startStack } from '../helpers/stack.js';
import type { Stack } from '../helpers/stack.js';

let minio: MinioServer;
let ca1: TestCa;
let ca2: TestCa;
let dir: string;
beforeAll(async () => {
  minio = await startMinio();
  [ca1, ca2] = await Promise.all([createTestCa('s3seal-test-ca-1'), createTestCa('s3seal-test-ca-2')]);
  dir = await mkdtemp(join(tmpdir(), 's3seal-tls-'));
});
afterAll(async () => {
  await minio?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function serverCert(ca: TestCa): Promise<CertifiedKey> {
  return ca.issue({ subject: 'CN=s3seal-proxy', usage: 'serverAuth', ...LOOPBACK_NAMES });
}

/** Writes a pair the way the kubelet updates a Secret volume: a new directory, then `..data` swapped. */
let generation = 0;
async function publishPair(secretDir: string, pair: { certPem: string; keyPem: string }): Promise<void> {
  const version = join(secretDir, `..gen-${++generation}`);
  await mkdir(version);
  await writeFile(join(version, 'tls.crt'), pair.certPem);
  await writeFile(join(version, 'tls.key'), pair.keyPem);
  await symlink(version, join(secretDir, '..data_tmp'));
  await rename(join(secretDir, '..data_tmp'), join(secretDir, '..data'));
  if (generation === 1) {
    await symlink(join('..data', 'tls.crt'), join(secretDir, 'tls.crt'));
    await symlink(join('..data', 'tls.key'), join(secretDir, 'tls.key'));
  }
}

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('TLS listener', () => {
  let stack: Stack;
  let secretDir: string;
  const logLines: string[] = [];
  beforeAll(async () => {
    secretDir = join(dir, 'listener');
    await mkdir(secretDir);
    await publishPair(secretDir, await serverCert(ca1));
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(chunk.toString());
        done();
      },
    });
    stack = await startStack({
      minio,
      log: pino({ level: 'info' }, sink),
      env: {
        S3SEAL_TLS_CERT_FILE: join(secretDir, 'tls.crt'),
        S3SEAL_TLS_KEY_FILE: join(secretDir, 'tls.key'),
      },
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const target = (ca: string): RawTarget => ({
    url: stack.proxy.url,
    accessKeyId: minio.accessKeyId,
    secretAccessKey: minio.secretAccessKey,
    ca,
  });
  const canList = (ca: string): Promise<boolean> =>
    sendSigned(target(ca), { method: 'GET', path: `/${stack.bucket}?list-type=2` }).then(
      (res) => res.status === 200,
      () => false,
    );

  it('serves PUT and GET over HTTPS to a client trusting its CA', async () => {
    expect(stack.proxy.url).toMatch(/^https:\/\//);
    const body = recognisable(200_000);
    const put = await sendSigned(target(ca1.caPem), { method: 'PUT', path: `/${stack.bucket}/tls/a`, body });
    expect(put.status).toBe(200);
    const get = await sendSigned(target(ca1.caPem), { method: 'GET', path: `/${stack.bucket}/tls/a` });
    expect([get.status, get.body === body.toString()]).toEqual([200, true]);
    await expectCiphertextAtRest(stack, 'tls/a', body);
    expect(await canList(ca2.caPem)).toBe(false);
  });

  it('picks up a swapped certificate without a restart', async () => {
    await publishPair(secretDir, await serverCert(ca2));
    await eventually(() => canList(ca2.caPem), 'a client trusting only CA2 to connect');
    expect(await canList(ca1.caPem)).toBe(false);
  });

  it('keeps the current certificate when the new pair does not match', async () => {
    const [a, b] = await Promise.all([serverCert(ca1), serverCert(ca1)]);
    await publishPair(secretDir, { certPem: a.certPem, keyPem: b.keyPem });
    await eventually(
      () => Promise.resolve(logLines.some((line) => line.includes('TLS certificate reload failed'))),
      'the failed reload to be logged',
    );
    expect(await canList(ca2.caPem)).toBe(true);
    expect(await canList(ca1.caPem)).toBe(false);
  });
});

describe('https upstream with a private CA (S3SEAL_UPSTREAM_CA_FILE)', () => {
  let terminator: TlsServer;
  let upstream: string;
  let caFile: string;
  const sockets = new Set<Socket>();
  beforeAll(async () => {
    const cert = await serverCert(ca1);
    caFile = join(dir, 'upstream-ca.pem');
    await writeFile(caFile, ca1.caPem);
    const minioPort = Number(new URL(minio.endpoint).port);
    terminator = createTlsServer({ cert: cert.certPem, key: cert.keyPem }, (client) => {
      const backend = connect(minioPort, '127.0.0.1');
      for (const s of [client, backend]) {
        sockets.add(s);
        s.once('close', () => sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(backend).pipe(client);
    });
    await new Promise<void>((resolve) => terminator.listen(0, '127.0.0.1', resolve));
    const { port } = terminator.address() as { port: number };
    upstream = `https://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => terminator?.close(resolve));
  });

  it('trusts the CA file in addition to the system CAs: PUT and GET go through', async () => {
    const stack = await startStack({
      minio,
      env: {
        S3SEAL_UPSTREAM: upstream,
        S3SEAL_UPSTREAM_CA_FILE: caFile,
        S3SEAL_METRICS_LISTEN: '127.0.0.1:0',
      },
    });
    try {
      const t: RawTarget = {
        url: stack.proxy.url,
        accessKeyId: minio.accessKeyId,
        secretAccessKey: minio.secretAccessKey,
      };
      const body = recognisable(100_000);
      expect((await sendSigned(t, { method: 'PUT', path: `/${stack.bucket}/up/a`, body })).status).toBe(200);
      const get = await sendSigned(t, { method: 'GET', path: `/${stack.bucket}/up/a` });
      expect([get.status, get.body === body.toString()]).toEqual([200, true]);
      await expectCiphertextAtRest(stack, 'up/a', body);
      await eventually(
        async () => (await fetch(`${stack.proxy.healthUrl!}/readyz`)).status === 200,
        'readiness with the https upstream',
      );
    } finally {
      await stack.stop();
    }
  });

  it('refuses the upstream without the CA file: not ready, requests fail', async () => {
    const stack = await startStack({
      minio,
      env: { S3SEAL_UPSTREAM: upstream, S3SEAL_METRICS_LISTEN: '127.0.0.1:0' },
    });
    try {
      const t: RawTarget = {
        url: stack.proxy.url,
        accessKeyId: minio.accessKeyId,
        secretAccessKey: minio.secretAccessKey,
      };
      const res = await sendSigned(t, { method: 'GET', path: `/${stack.bucket}?list-type=2` });
      expect(res.status).toBeGreaterThanOrEqual(500);
      expect(errorCode(res.body)).toBeDefined();
      await eventually(async () => {
        const ready = await fetch(`${stack.proxy.healthUrl!}/readyz`);
        const body = (await ready.json()) as { checks: Record<string, { ok: boolean; detail?: string }> };
        return ready.status === 503 && body.checks['upstream']?.ok === false;
      }, 'the upstream check to fail');
    } finally {
      await stack.stop();
    }
  });
});
