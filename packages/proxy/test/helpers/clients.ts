// Runners for real S3 clients (aws cli, boto3, rclone, s3cmd, restic, the MinIO JS SDK),
// each pointed at one S3 endpoint with path-style addressing and a configuration of its own
// in a temporary directory: HOME is that directory and no user config file is ever read.
// A runner whose tool is missing throws (the test fails, naming `make test-deps`).
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Client as MinioClient } from 'minio';
import type { Stack } from './stack.js';

/** Where a client sends its requests, and as whom. */
export interface S3Target {
  /** `http://host:port`, path-style. */
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
}

/** The proxy of a stack (or, with `endpoint`, e.g. a recorder in front of it or MinIO itself). */
export function targetOf(stack: Stack, endpoint: string = stack.proxy.url): S3Target {
  return {
    endpoint,
    accessKeyId: stack.minio.accessKeyId,
    secretAccessKey: stack.minio.secretAccessKey,
    region: stack.minio.region,
  };
}

export interface RunResult {
  /** The command line, for messages. */
  readonly command: string;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

export class ClientRunError extends Error {
  readonly result: RunResult;
  constructor(message: string, result: RunResult) {
    super(
      `${message}\n$ ${result.command}\n--- stdout\n${tail(result.stdout)}\n--- stderr\n${tail(result.stderr)}`,
    );
    this.name = 'ClientRunError';
    this.result = result;
  }
}

export interface RunOptions {
  /** Resolve with the result instead of rejecting when the command fails. */
  readonly allowFailure?: boolean;
  /** Default 90 s. The process is killed (SIGKILL) when it runs longer, and the run rejects. */
  readonly timeoutMs?: number;
  readonly input?: string | Buffer;
  readonly cwd?: string;
  /** Extra environment on top of the runner's. */
  readonly env?: Record<string, string>;
}

const DEFAULT_TIMEOUT_MS = 90_000;

/** Fails with a message naming `make test-deps` when `tool` is not on PATH. */
export async function requireTool(tool: string, hint = tool): Promise<string> {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, tool);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new Error(`${hint} is not installed (${tool} is not on PATH): run \`make test-deps\``);
}

/**
 * Runs one command with exactly `env` (plus PATH) as its environment, capturing its output.
 * Rejects with the output when it exits non-zero (unless `allowFailure`) or times out.
 */
export function runCommand(
  tool: string,
  args: readonly string[],
  env: Record<string, string>,
  options: RunOptions = {},
): Promise<RunResult> {
  const command = [tool, ...args].map(quote).join(' ');
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, {
      cwd: options.cwd,
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LANG: 'C.UTF-8', ...env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        err.code === 'ENOENT'
          ? new Error(`${tool} is not installed (not on PATH): run \`make test-deps\``)
          : err,
      );
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result: RunResult = {
        command,
        code,
        signal,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
        ms: Math.round(performance.now() - started),
      };
      if (timedOut)
        reject(new ClientRunError(`timed out after ${options.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`, result));
      else if (code !== 0 && !options.allowFailure)
        reject(new ClientRunError(`exited with ${code ?? signal}`, result));
      else resolve(result);
    });
    child.stdin.on('error', () => {
      // the tool may exit without reading its input; its exit status tells what happened
    });
    child.stdin.end(options.input);
  });
}

/** A client's own directory: HOME for the process and its config files. */
async function clientDir(name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `s3seal-${name}-`));
  await mkdir(join(dir, 'home'));
  return dir;
}

function hostPort(endpoint: string): { host: string; port: number; hostPort: string } {
  const url = new URL(endpoint);
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  return { host: url.hostname, port, hostPort: `${url.hostname}:${port}` };
}

export interface CliRunner {
  readonly dir: string;
  run(args: readonly string[], options?: RunOptions): Promise<RunResult>;
  close(): Promise<void>;
}

// ---- aws cli ------------------------------------------------------------------------------

export interface AwsCliOptions {
  /** `s3` commands upload in one PUT below this (aws cli syntax, e.g. 64MB). Default 64MB. */
  readonly multipartThreshold?: string;
  readonly multipartChunksize?: string;
}

export interface AwsCli extends CliRunner {
  /** Runs an `aws` command with `--output json` and parses its output ({} when empty). */
  json<T = Record<string, unknown>>(args: readonly string[], options?: RunOptions): Promise<T>;
}

export async function awsCli(target: S3Target, options: AwsCliOptions = {}): Promise<AwsCli> {
  await requireTool('aws', 'the aws cli');
  const dir = await clientDir('aws');
  const config = join(dir, 'config');
  const credentials = join(dir, 'credentials');
  // What `aws configure set default.s3.<key>` writes, written directly (each aws start costs ~0.5 s).
  await writeFile(
    config,
    [
      '[default]',
      `region = ${target.region}`,
      'output = json',
      // Fail fast: a retried request would hide a proxy error behind a later success.
      'retry_mode = standard',
      'max_attempts = 1',
      's3 =',
      '    addressing_style = path',
      `    multipart_threshold = ${options.multipartThreshold ?? '64MB'}`,
      `    multipart_chunksize = ${options.multipartChunksize ?? options.multipartThreshold ?? '64MB'}`,
      '',
    ].join('\n'),
  );
  await writeFile(credentials, '');
  const env = {
    HOME: join(dir, 'home'),
    AWS_CONFIG_FILE: config,
    AWS_SHARED_CREDENTIALS_FILE: credentials,
    AWS_ACCESS_KEY_ID: target.accessKeyId,
    AWS_SECRET_ACCESS_KEY: target.secretAccessKey,
    AWS_DEFAULT_REGION: target.region,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
    ...pythonEnv(),
  };
  const run = (args: readonly string[], opts?: RunOptions): Promise<RunResult> =>
    runCommand('aws', ['--endpoint-url', target.endpoint, ...args], env, opts);
  return {
    dir,
    run,
    json: async <T>(args: readonly string[], opts?: RunOptions): Promise<T> => {
      const out = await run([...args, '--output', 'json'], opts);
      return (out.stdout.trim() === '' ? {} : JSON.parse(out.stdout)) as T;
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

// ---- boto3 --------------------------------------------------------------------------------

export interface Boto3 {
  /**
   * Runs a Python script with `s3` (a boto3 S3 client on the target, path-style), `ARGS`
   * (the JSON-decoded `args`), `Config`, `TransferConfig`, `ClientError` and `out(value)`
   * (prints JSON) in scope; resolves with the value of the last `out`.
   */
  run<T = unknown>(script: string, args?: unknown, options?: RunOptions): Promise<T>;
  /** The same, resolving with the raw result (e.g. with `allowFailure`). */
  exec(script: string, args?: unknown, options?: RunOptions): Promise<RunResult>;
  close(): Promise<void>;
}

const BOTO3_PRELUDE = `
import json, os, sys
try:
    import boto3
except ImportError:
    sys.stderr.write("boto3 is not installed for " + sys.executable + ": run \`make test-deps\`\\n")
    sys.exit(97)
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError
ARGS = json.loads(os.environ["S3SEAL_ARGS"])
s3 = boto3.client(
    "s3",
    endpoint_url=os.environ["S3SEAL_ENDPOINT"],
    region_name=os.environ["AWS_DEFAULT_REGION"],
    aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
    aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
    config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1, "mode": "standard"}),
)
def out(value):
    print(json.dumps(value, default=str))
`;

export async function boto3(target: S3Target): Promise<Boto3> {
  await requireTool('python3');
  const dir = await clientDir('boto3');
  await writeFile(join(dir, 'config'), '');
  const env = {
    HOME: join(dir, 'home'),
    AWS_CONFIG_FILE: join(dir, 'config'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'config'),
    AWS_ACCESS_KEY_ID: target.accessKeyId,
    AWS_SECRET_ACCESS_KEY: target.secretAccessKey,
    AWS_DEFAULT_REGION: target.region,
    AWS_EC2_METADATA_DISABLED: 'true',
    S3SEAL_ENDPOINT: target.endpoint,
    PYTHONDONTWRITEBYTECODE: '1',
    ...pythonEnv(),
  };
  const exec = async (script: string, args: unknown = null, options: RunOptions = {}): Promise<RunResult> => {
    const result = await runCommand('python3', ['-'], env, {
      ...options,
      allowFailure: true,
      input: `${BOTO3_PRELUDE}\n${script}\n`,
      env: { S3SEAL_ARGS: JSON.stringify(args), ...options.env },
    });
    if (result.code === 97) throw new ClientRunError('boto3 is not installed: run `make test-deps`', result);
    if (result.code !== 0 && !options.allowFailure)
      throw new ClientRunError(`python3 exited with ${result.code}`, result);
    return result;
  };
  return {
    exec,
    run: async <T>(script: string, args?: unknown, options?: RunOptions): Promise<T> => {
      const result = await exec(script, args, options);
      const last = result.stdout.trim().split('\n').pop() ?? '';
      return (last === '' ? undefined : JSON.parse(last)) as T;
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

// ---- rclone -------------------------------------------------------------------------------

/** The remote name every rclone command can use: `s3seal:<bucket>/<path>`. */
export const RCLONE_REMOTE = 's3seal';

export interface RcloneOptions {
  /** Single PUT below this (rclone size syntax). Default 64M. */
  readonly uploadCutoff?: string;
  readonly chunkSize?: string;
  /**
   * Whether rclone checks a multipart upload's ETag (read back with HEAD) against the MD5 of its
   * parts' MD5s. Default: rclone's own for provider Minio (on).
   */
  readonly useMultipartEtag?: boolean;
}

export async function rclone(target: S3Target, options: RcloneOptions = {}): Promise<CliRunner> {
  await requireTool('rclone');
  const dir = await clientDir('rclone');
  // An empty config file of our own: the remote is defined by RCLONE_CONFIG_S3SEAL_* alone.
  const config = join(dir, 'rclone.conf');
  await writeFile(config, '');
  const prefix = `RCLONE_CONFIG_${RCLONE_REMOTE.toUpperCase()}_`;
  const env = {
    HOME: join(dir, 'home'),
    XDG_CONFIG_HOME: join(dir, 'home', '.config'),
    XDG_CACHE_HOME: join(dir, 'home', '.cache'),
    RCLONE_CONFIG: config,
    [`${prefix}TYPE`]: 's3',
    [`${prefix}PROVIDER`]: 'Minio',
    [`${prefix}ENDPOINT`]: target.endpoint,
    [`${prefix}REGION`]: target.region,
    [`${prefix}ACCESS_KEY_ID`]: target.accessKeyId,
    [`${prefix}SECRET_ACCESS_KEY`]: target.secretAccessKey,
    [`${prefix}FORCE_PATH_STYLE`]: 'true',
    // Fail fast: a retried request would hide a proxy error behind a later success.
    RCLONE_RETRIES: '1',
    RCLONE_LOW_LEVEL_RETRIES: '1',
  };
  const flags = [
    '--s3-upload-cutoff',
    options.uploadCutoff ?? '64M',
    '--s3-chunk-size',
    options.chunkSize ?? options.uploadCutoff ?? '64M',
    ...(options.useMultipartEtag === undefined
      ? []
      : [`--s3-use-multipart-etag=${String(options.useMultipartEtag)}`]),
  ];
  return {
    dir,
    run: (args, opts) => runCommand('rclone', [...args, ...flags], env, opts),
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

// ---- s3cmd --------------------------------------------------------------------------------

export interface S3cmdOptions {
  /** Default false: every upload is one PUT (`enable_multipart = False`, as --disable-multipart). */
  readonly multipart?: boolean;
  readonly multipartChunkSizeMb?: number;
}

/**
 * s3cmd 2.3 retries a request that failed with 5xx five times, waiting 3 + 6 + … + 15 s, and
 * has no setting for it: a proxy that answers 500 costs a test 45 s.
 */
export async function s3cmd(target: S3Target, options: S3cmdOptions = {}): Promise<CliRunner> {
  await requireTool('s3cmd');
  const dir = await clientDir('s3cmd');
  const config = join(dir, 's3cfg');
  const { hostPort: address } = hostPort(target.endpoint);
  await writeFile(
    config,
    [
      '[default]',
      `access_key = ${target.accessKeyId}`,
      `secret_key = ${target.secretAccessKey}`,
      `host_base = ${address}`,
      // No %(bucket)s: path-style.
      `host_bucket = ${address}`,
      `bucket_location = ${target.region}`,
      'use_https = False',
      'signature_v2 = False',
      `enable_multipart = ${options.multipart ? 'True' : 'False'}`,
      `multipart_chunk_size_mb = ${options.multipartChunkSizeMb ?? 15}`,
      'progress_meter = False',
      '',
    ].join('\n'),
  );
  const env = { HOME: join(dir, 'home') };
  return {
    dir,
    run: (args, opts) => runCommand('s3cmd', ['--config', config, ...args], env, opts),
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

// ---- restic -------------------------------------------------------------------------------

export interface Restic extends CliRunner {
  /** `s3:http://host:port/<bucket>/<prefix>` */
  readonly repository: string;
}

export async function restic(target: S3Target, bucket: string, prefix: string): Promise<Restic> {
  await requireTool('restic');
  const dir = await clientDir('restic');
  const repository = `s3:${target.endpoint}/${bucket}/${prefix}`;
  const env = {
    HOME: join(dir, 'home'),
    RESTIC_REPOSITORY: repository,
    RESTIC_PASSWORD: 'correct horse battery staple',
    RESTIC_CACHE_DIR: join(dir, 'cache'),
    AWS_ACCESS_KEY_ID: target.accessKeyId,
    AWS_SECRET_ACCESS_KEY: target.secretAccessKey,
    AWS_DEFAULT_REGION: target.region,
  };
  return {
    dir,
    repository,
    run: (args, opts) => runCommand('restic', args, env, opts),
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

// ---- MinIO JS SDK -------------------------------------------------------------------------

export interface MinioJsOptions {
  /** Multipart part size; uploads larger than it are multipart. Default 64 MiB (the SDK's). */
  readonly partSize?: number;
}

export function minioJs(target: S3Target, options: MinioJsOptions = {}): MinioClient {
  const { host, port } = hostPort(target.endpoint);
  return new MinioClient({
    endPoint: host,
    port,
    useSSL: false,
    accessKey: target.accessKeyId,
    secretKey: target.secretAccessKey,
    region: target.region,
    pathStyle: true,
    ...(options.partSize === undefined ? {} : { partSize: options.partSize }),
  });
}

// ---- helpers ------------------------------------------------------------------------------

/**
 * What a Python tool needs from the real environment although HOME is a temporary directory:
 * pyenv's selection, and the user site directory (a `pip install --user` boto3 lives there).
 */
function pythonEnv(): Record<string, string> {
  return {
    PYTHONUSERBASE: process.env['PYTHONUSERBASE'] ?? join(homedir(), '.local'),
    ...passThrough('PYENV_ROOT', 'PYENV_VERSION'),
  };
}

function passThrough(...names: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = process.env[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}

function tail(text: string, max = 4000): string {
  return text.length <= max ? text : `…${text.slice(-max)}`;
}
