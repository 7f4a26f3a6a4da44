import { randomBytes } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CommandModule } from 'yargs';

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

export const keygenCommand: CommandModule<object, { dir: string }> = {
  command: 'keygen <dir>',
  describe: 'create a keyring directory with a fresh random KEK (v1, active)',
  builder: (y) =>
    y.positional('dir', { type: 'string', demandOption: true, describe: 'directory to create' }),
  handler: async (args) => {
    await writeNewKeyring(args.dir);
    process.stdout.write(
      `created keyring ${args.dir} (v1 active); keep a copy: objects cannot be read without it\n`,
    );
  },
};
