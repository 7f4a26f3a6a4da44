import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

import { isErrnoException, RigError } from './errors.js';
import { cacheBinDir } from './paths.js';

/**
 * Put into the binary cache by scripts/test-deps.sh: built from source with Go, except
 * moto_server, a symlink into the moto[server] venv the script installs from PyPI.
 */
export type CachedBinary = 'minio' | 'etcd' | 'kube-apiserver' | 'vault' | 'moto_server';
/** Everything the rig runs; redis-server comes from the OS package and is found on PATH. */
export type BinaryName = CachedBinary | 'redis-server';

/** The absolute path of a server binary, or a RigError telling the user to run `make test-deps`. */
export function findBinary(name: BinaryName, env: NodeJS.ProcessEnv = process.env): string {
  if (name === 'redis-server') {
    const found = (env.PATH ?? '')
      .split(path.delimiter)
      .filter((dir) => dir !== '')
      .map((dir) => path.join(dir, name))
      .find(isExecutableFile);
    if (found !== undefined) return found;
    throw new RigError(
      'S3SEAL_RIG_BINARY_MISSING',
      'redis-server not found on PATH; run `make test-deps` (it installs the redis-server package)',
    );
  }
  const file = path.join(cacheBinDir(env), name);
  if (isExecutableFile(file)) return file;
  throw new RigError(
    'S3SEAL_RIG_BINARY_MISSING',
    `${name} not found at ${file}; run \`make test-deps\` to ${name === 'moto_server' ? 'install' : 'build'} it (S3SEAL_CACHE_DIR picks the cache)`,
  );
}

function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch (err: unknown) {
    // Missing, a dangling symlink, a path through a non-directory or not executable: not usable.
    if (isErrnoException(err) && ['ENOENT', 'ENOTDIR', 'EACCES', 'ELOOP'].includes(err.code ?? '')) {
      return false;
    }
    throw err;
  }
}
