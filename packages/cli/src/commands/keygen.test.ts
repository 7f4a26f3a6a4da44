import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readKeyringDirectory } from '@s3seal/proxy';
import { rotateKeyring, writeNewKeyring } from './keygen.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 's3seal-keygen-'));
  dirs.push(dir);
  return dir;
}

describe('keygen', () => {
  it('rotates: adds the next version, makes it active, keeps the old ones byte for byte', async () => {
    const dir = join(await tempDir(), 'keyring');
    await writeNewKeyring(dir);
    const v1 = await readFile(join(dir, 'v1'), 'utf8');
    await expect(rotateKeyring(dir)).resolves.toBe('v2');
    await expect(rotateKeyring(dir)).resolves.toBe('v3');
    const keyring = await readKeyringDirectory(dir, 'default');
    expect(keyring.versions()).toEqual(['v1', 'v2', 'v3']);
    expect(keyring.activeVersion).toBe('v3');
    expect(await readFile(join(dir, 'v1'), 'utf8')).toBe(v1);
    expect((await readdir(dir)).sort()).toEqual(['active', 'v1', 'v2', 'v3']);
  });

  it('refuses to rotate a directory that is not a valid keyring, and to create over one', async () => {
    const dir = await tempDir();
    await expect(rotateKeyring(dir)).rejects.toMatchObject({ code: 'S3SEAL_KEYRING_INVALID' });
    await writeNewKeyring(join(dir, 'k'));
    await expect(writeNewKeyring(join(dir, 'k'))).rejects.toThrow(/not overwriting/);
  });
});
