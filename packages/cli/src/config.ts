import type { KeySources, Keyring } from '@s3seal/core';
import { Keyring as KeyringClass } from '@s3seal/core';
import { loadConfig, openProxyKeySources, readKeyringDirectory } from '@s3seal/proxy';
import { pino } from 'pino';
import type { Argv } from 'yargs';
import { CliError } from './errors.js';

/**
 * The data commands' configuration: where the backend is and as whom (flags first, then the
 * standard AWS variables), and the keyring (a directory as the proxy's S3SEAL_KEK_DIR, or the
 * S3SEAL_KEK_* variables). The only module of the CLI that reads the environment.
 */
export interface BackendArgs {
  endpoint?: string | undefined;
  region?: string | undefined;
  'path-style': boolean;
  'access-key-id'?: string | undefined;
  'secret-access-key'?: string | undefined;
  keyring?: string | undefined;
  'keyring-id'?: string | undefined;
  'proxy-config'?: string | undefined;
}

export interface BackendConfig {
  /** Undefined: the SDK's default (AWS S3 for the region). */
  readonly endpoint: string | undefined;
  readonly region: string;
  readonly forcePathStyle: boolean;
  /** Undefined: the SDK's default credential chain (profiles, instance roles). */
  readonly credentials:
    | { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string }
    | undefined;
}

type Env = Readonly<Record<string, string | undefined>>;

/** The options every data command takes. */
export function withBackendOptions<T>(y: Argv<T>): Argv<T & BackendArgs> {
  return y
    .option('endpoint', {
      type: 'string',
      describe:
        'S3 endpoint of the backend itself, not the proxy (default: $AWS_ENDPOINT_URL_S3, $AWS_ENDPOINT_URL)',
    })
    .option('region', {
      type: 'string',
      describe: 'region (default: $AWS_REGION, $AWS_DEFAULT_REGION, us-east-1)',
    })
    .option('path-style', {
      type: 'boolean',
      default: false,
      describe: 'path-style addressing (http://host/bucket/key), as MinIO and most non-AWS backends need',
    })
    .option('access-key-id', { type: 'string', describe: 'access key (default: $AWS_ACCESS_KEY_ID)' })
    .option('secret-access-key', {
      type: 'string',
      describe: 'secret key (default: $AWS_SECRET_ACCESS_KEY; prefer the variable: flags show in ps)',
    })
    .option('keyring', {
      type: 'string',
      describe:
        'keyring directory (v1, v2, … and active), as the proxy’s S3SEAL_KEK_DIR (default: $S3SEAL_KEK_DIR, else $S3SEAL_KEK_V<n> and $S3SEAL_KEK_ACTIVE)',
    })
    .option('keyring-id', {
      type: 'string',
      describe:
        'keyring id recorded in objects, as the proxy’s S3SEAL_KEYRING_ID (default: $S3SEAL_KEYRING_ID, default)',
    })
    .option('proxy-config', {
      type: 'string',
      describe:
        'take the key sources (keyring, Vault Transit, AWS KMS, and which one is active) from this proxy configuration file and its S3SEAL_* variables, as the proxy would (verify, rewrap, reencrypt)',
    });
}

export function loadBackendConfig(args: BackendArgs, env: Env = process.env): Readonly<BackendConfig> {
  const accessKeyId = args['access-key-id'] ?? nonEmpty(env['AWS_ACCESS_KEY_ID']);
  const secretAccessKey = args['secret-access-key'] ?? nonEmpty(env['AWS_SECRET_ACCESS_KEY']);
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new CliError('S3SEAL_CLI_USAGE', 'give both an access key id and a secret access key, or neither');
  }
  const sessionToken = nonEmpty(env['AWS_SESSION_TOKEN']);
  return Object.freeze({
    endpoint: args.endpoint ?? nonEmpty(env['AWS_ENDPOINT_URL_S3']) ?? nonEmpty(env['AWS_ENDPOINT_URL']),
    region: args.region ?? nonEmpty(env['AWS_REGION']) ?? nonEmpty(env['AWS_DEFAULT_REGION']) ?? 'us-east-1',
    forcePathStyle: args['path-style'],
    credentials:
      accessKeyId !== undefined && secretAccessKey !== undefined
        ? { accessKeyId, secretAccessKey, ...(sessionToken !== undefined ? { sessionToken } : {}) }
        : undefined,
  });
}

/** The keyring the flags or environment name; undefined when none is named and `isRequired` is false. */
export async function loadKeyring(
  args: BackendArgs,
  options: { isRequired: boolean },
  env: Env = process.env,
): Promise<Keyring | undefined> {
  const keyringId = args['keyring-id'] ?? nonEmpty(env['S3SEAL_KEYRING_ID']) ?? 'default';
  const dir = args.keyring ?? nonEmpty(env['S3SEAL_KEK_DIR']);
  if (dir !== undefined) return readKeyringDirectory(dir, keyringId);
  if (nonEmpty(env['S3SEAL_KEK_ACTIVE']) !== undefined) {
    return KeyringClass.fromEnv({ ...env, S3SEAL_KEK_ID: keyringId });
  }
  if (!options.isRequired) return undefined;
  throw new CliError(
    'S3SEAL_CLI_USAGE',
    'a keyring is required: --keyring <dir> (or S3SEAL_KEK_DIR), or S3SEAL_KEK_V<n> and S3SEAL_KEK_ACTIVE',
  );
}

/** Key sources the commands that open objects use, and how to let go of them. */
export interface LoadedKeySources {
  readonly sources: KeySources;
  close(): Promise<void>;
}

/**
 * The key sources of `--proxy-config` (every source that proxy knows, and its active one: what
 * a rewrap after a policy moved to Vault or KMS needs), else the keyring alone.
 */
export async function loadKeySources(args: BackendArgs, env: Env = process.env): Promise<LoadedKeySources> {
  const file = args['proxy-config'];
  if (file === undefined) {
    const keyring = (await loadKeyring(args, { isRequired: true }, env))!;
    return { sources: keyring, close: () => Promise.resolve() };
  }
  const config = loadConfig(['--config', file], env, 'keys');
  const opened = await openProxyKeySources(config, pino({ level: 'silent' }));
  return { sources: opened.keys(), close: () => opened.close() };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
