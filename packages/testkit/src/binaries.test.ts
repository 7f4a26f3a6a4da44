import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

import { findBinary } from './binaries.js';
import { RigError } from './errors.js';

describe('findBinary', () => {
  let cacheDir: string;

  beforeAll(async () => {
    cacheDir = await mkdtemp(path.join(tmpdir(), 's3seal-binaries-'));
    await mkdir(path.join(cacheDir, 'bin'));
    await writeFile(path.join(cacheDir, 'bin', 'etcd'), '#!/bin/sh\n');
    await chmod(path.join(cacheDir, 'bin', 'etcd'), 0o755);
    await writeFile(path.join(cacheDir, 'bin', 'minio'), 'not executable');
    await writeFile(path.join(cacheDir, 'redis-server'), '#!/bin/sh\n');
    await chmod(path.join(cacheDir, 'redis-server'), 0o755);
  });

  afterAll(async () => {
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('finds cached binaries under $S3SEAL_CACHE_DIR/bin', () => {
    expect(findBinary('etcd', { S3SEAL_CACHE_DIR: cacheDir })).toBe(path.join(cacheDir, 'bin', 'etcd'));
  });

  it('defaults to $XDG_CACHE_HOME/s3seal/bin', () => {
    const env = { XDG_CACHE_HOME: path.dirname(cacheDir) };
    expect(errorOf(() => findBinary('etcd', env))).toMatchObject({
      message: expect.stringContaining(path.join(path.dirname(cacheDir), 's3seal', 'bin', 'etcd')) as unknown,
    });
  });

  it('finds redis-server on PATH', () => {
    const env = { PATH: ['/nonexistent', cacheDir].join(path.delimiter) };
    expect(findBinary('redis-server', env)).toBe(path.join(cacheDir, 'redis-server'));
  });

  it.each([
    ['kube-apiserver', { S3SEAL_CACHE_DIR: '/nonexistent' }],
    ['vault', { S3SEAL_CACHE_DIR: '/nonexistent' }],
    ['moto_server', { S3SEAL_CACHE_DIR: '/nonexistent' }],
    ['minio', {}], // present but not executable
    ['redis-server', { PATH: '/nonexistent' }],
  ] as const)('reports a missing %s with the command that provides it', (name, env) => {
    const err = errorOf(() => findBinary(name, { S3SEAL_CACHE_DIR: cacheDir, ...env }));
    expect(err).toBeInstanceOf(RigError);
    expect(err).toMatchObject({ code: 'S3SEAL_RIG_BINARY_MISSING' });
    expect((err as RigError).message).toContain('make test-deps');
  });
});

function errorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err: unknown) {
    return err;
  }
  return undefined;
}
