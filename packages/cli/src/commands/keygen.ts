import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ACTIVE_ENTRY, DEFAULT_KEYRING_ID, KEK_BYTES } from '@s3seal/core';
import { readKeyringDirectory } from '@s3seal/proxy';
import type { CommandModule } from 'yargs';
import { CliError } from '../errors.js';

const VERSION_FILE = /^v([1-9][0-9]*)$/;

/**
 * Writes a new keyring directory (v1 and active), laid out as the proxy reads it. Refuses to
 * touch a directory that already holds keys: a lost KEK is lost data.
 */
export async function writeNewKeyring(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const existing = (await readdir(dir)).filter((name) => /^v\d+$/.test(name) || name === 'active');
  if (existing.length > 0)
    throw new Error(`${dir} already holds a keyring (${existing.join(', ')}); not overwriting it`);
  await writeFile(join(dir, 'v1'), `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  await writeFile(join(dir, 'active'), 'v1\n', { mode: 0o600 });
}

/**
 * Adds the next version (one past the highest present) to an existing keyring directory and
 * makes it active. The keyring must load first, so a broken one is not built upon; the new
 * key file is created exclusively (an existing version is never overwritten) and `active` is
 * replaced by a rename, so a proxy watching the directory sees the old or the new keyring,
 * never half of one. Returns the new version.
 */
export async function rotateKeyring(dir: string): Promise<string> {
  await readKeyringDirectory(dir, DEFAULT_KEYRING_ID);
  const highest = Math.max(
    0,
    ...(await readdir(dir)).map((name) => Number(VERSION_FILE.exec(name)?.[1] ?? 0)),
  );
  const version = `v${highest + 1}`;
  await writeFile(join(dir, version), `${randomBytes(KEK_BYTES).toString('base64')}\n`, {
    mode: 0o600,
    flag: 'wx',
  });
  const staged = join(dir, `.${ACTIVE_ENTRY}.tmp`);
  await writeFile(staged, `${version}\n`, { mode: 0o600 });
  await rename(staged, join(dir, ACTIVE_ENTRY));
  return version;
}

export const keygenCommand: CommandModule<object, { dir: string; rotate: boolean }> = {
  command: 'keygen <dir>',
  describe:
    'create a keyring directory with a fresh random KEK (v1, active), or with --rotate add the next version to one and make it active',
  builder: (y) =>
    y
      .positional('dir', { type: 'string', demandOption: true, describe: 'keyring directory' })
      .option('rotate', {
        type: 'boolean',
        default: false,
        describe: 'add a new version to an existing keyring and make it active (old versions are kept)',
      }),
  handler: async (args) => {
    if (args.rotate) {
      const version = await rotateKeyring(args.dir).catch((err: unknown) => {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          throw new CliError(
            'S3SEAL_CLI_USAGE',
            `${args.dir} is not a keyring directory: create one with s3seal keygen ${args.dir}`,
          );
        }
        throw err;
      });
      process.stdout.write(
        `added ${version} to keyring ${args.dir} and made it active; new objects use it, and s3seal rewrap moves existing ones to it\n`,
      );
      return;
    }
    await writeNewKeyring(args.dir);
    process.stdout.write(
      `created keyring ${args.dir} (v1 active); keep a copy: objects cannot be read without it\n`,
    );
  },
};
