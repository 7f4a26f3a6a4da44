import { afterEach, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Keyring } from '@s3seal/core';
import { readKeyringDirectory, WatchedKeyring } from './keyring-directory.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** Writes a keyring the way the kubelet's atomic writer updates a mounted Secret. */
async function writeLikeKubelet(
  dir: string,
  files: Record<string, string>,
  generation: number,
): Promise<void> {
  const data = join(dir, `..2026_11_22_00_00_0${generation}.000`);
  await mkdir(data);
  for (const [name, value] of Object.entries(files)) await writeFile(join(data, name), value);
  await symlink(data, join(dir, '..data_tmp'));
  await rename(join(dir, '..data_tmp'), join(dir, '..data'));
  for (const name of Object.keys(files)) {
    await symlink(join('..data', name), join(dir, `${name}.tmp`));
    await rename(join(dir, `${name}.tmp`), join(dir, name));
  }
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 's3seal-keyring-'));
  dirs.push(dir);
  return dir;
}

const key = (): string => randomBytes(32).toString('base64');

describe('keyring directory', () => {
  it('reads a Secret mounted by the kubelet', async () => {
    const dir = await tempDir();
    await writeLikeKubelet(dir, { v1: key(), active: 'v1' }, 1);
    const keyring = await readKeyringDirectory(dir, 'default');
    expect(keyring.versions()).toEqual(['v1']);
  });

  it('follows a rotation in place, and keeps the last good keyring on a bad update', async () => {
    const dir = await tempDir();
    const v1 = key();
    await writeLikeKubelet(dir, { v1, active: 'v1' }, 1);
    const reloads: Keyring[] = [];
    const errors: unknown[] = [];
    const watched = await WatchedKeyring.open(dir, {
      keyringId: 'default',
      pollIntervalMs: 100,
      onReload: (k) => reloads.push(k),
      onError: (e) => errors.push(e),
    });
    try {
      await writeLikeKubelet(dir, { v1, v2: key(), active: 'v2' }, 2);
      await waitFor(() => watched.current().activeVersion === 'v2');
      expect(watched.current().versions()).toEqual(['v1', 'v2']);
      expect(reloads.length).toBeGreaterThanOrEqual(1);

      await writeLikeKubelet(dir, { v1, active: 'v9' }, 3);
      await watched.reload();
      expect(errors.length).toBeGreaterThanOrEqual(1);
      expect(watched.current().activeVersion).toBe('v2');
    } finally {
      watched.close();
    }
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
