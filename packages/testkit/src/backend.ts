import { RigError } from './errors.js';

/** `process` runs the binaries from the cache; `containers` runs images through a Docker engine. */
export type RigBackend = 'process' | 'containers';

/** From S3SEAL_RIG_BACKEND (default `process`); an unknown value is an error, not a fallback. */
export function selectRigBackend(env: NodeJS.ProcessEnv = process.env): RigBackend {
  const value = env.S3SEAL_RIG_BACKEND;
  if (value === undefined || value === '' || value === 'process') return 'process';
  if (value === 'containers') return 'containers';
  throw new RigError(
    'S3SEAL_RIG_BAD_BACKEND',
    `S3SEAL_RIG_BACKEND=${value} is not one of: process (default), containers`,
  );
}
