import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  findBinary,
  type MinioServer,
  RigError,
  startKubeApi,
  startMinio,
  startRig,
  startValkey,
  type StartValkeyOptions,
} from '@s3seal/testkit';

import { withEnv } from '../helpers/env.js';
import { childCommands, isProcessGone } from '../helpers/processes.js';

const noExternal: StartValkeyOptions = { allowExternal: false };

describe('startRig', () => {
  it('starts MinIO and Valkey together and stops both', async () => {
    const rig = await withEnv({ VALKEY_URL: undefined }, () => startRig({ minio: true, valkey: true }));
    try {
      expect(rig.minio.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(rig.valkey.url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
      expect(rig.kube).toBeUndefined();
    } finally {
      await rig.stop();
    }
    expect(isProcessGone(rig.minio.pid!)).toBe(true);
    expect(isProcessGone(rig.valkey.pid!)).toBe(true);
  });
});

describe('a missing binary', () => {
  let emptyCache: string;

  beforeAll(async () => {
    emptyCache = await mkdtemp(path.join(tmpdir(), 's3seal-empty-cache-'));
  });

  afterAll(async () => {
    await rm(emptyCache, { recursive: true, force: true });
  });

  const expectMissing = async (start: () => unknown, name: string): Promise<void> => {
    const err: unknown = await Promise.resolve()
      .then(start)
      .then(
        () => new Error('started although the binary is missing'),
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(RigError);
    expect((err as RigError).code).toBe('S3SEAL_RIG_BINARY_MISSING');
    // The message is the product here: it must tell the user what to run.
    expect((err as RigError).message).toContain('make test-deps');
    expect((err as RigError).message).toContain(name);
  };

  it('reports `make test-deps` for minio, etcd and kube-apiserver', async () => {
    await withEnv({ S3SEAL_CACHE_DIR: emptyCache }, async () => {
      await expectMissing(() => startMinio(), 'minio');
      await expectMissing(() => startKubeApi(), 'kube-apiserver');
      await expectMissing(() => findBinary('etcd'), 'etcd');
    });
  });

  it('reports `make test-deps` for redis-server', async () => {
    await withEnv({ PATH: emptyCache, VALKEY_URL: undefined }, async () => {
      await expectMissing(() => startValkey(noExternal), 'redis-server');
    });
  });

  it('fails startRig and stops the servers that did start', async () => {
    // A cache holding only minio: MinIO starts, kube-apiserver is missing.
    const binDir = path.join(emptyCache, 'partial', 'bin');
    await mkdir(binDir, { recursive: true });
    await symlink(findBinary('minio'), path.join(binDir, 'minio'));
    const before = childCommands();
    await withEnv({ S3SEAL_CACHE_DIR: path.dirname(binDir) }, async () => {
      await expectMissing(() => startRig({ minio: true, kube: true }), 'kube-apiserver');
    });
    expect(childCommands()).toEqual(before);
  });
});

describe('S3SEAL_RIG_BACKEND=containers', () => {
  it('never falls back to a local process', async () => {
    const outcome: unknown = await withEnv({ S3SEAL_RIG_BACKEND: 'containers' }, () => startMinio()).then(
      (server) => server,
      (err: unknown) => err,
    );
    if (outcome instanceof RigError) {
      // No Docker engine here (the usual case on CI runners without one).
      expect(outcome.code).toBe('S3SEAL_RIG_NO_CONTAINER_ENGINE');
    } else {
      // A reachable engine ran MinIO in a container: no local pid.
      const server = outcome as MinioServer;
      try {
        expect(server.pid).toBeUndefined();
      } finally {
        await server.stop();
      }
    }
  });
});
