// A real stack for proxy integration tests: MinIO started by the testkit, a fresh keyring
// directory, and the proxy in this process on a free port, with S3 clients for both sides.
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { assertCiphertextAtRest, readRawObject, startMinio, startValkey } from '@s3seal/testkit';
import type { MinioServer, ValkeyServer } from '@s3seal/testkit';
import type { Logger } from 'pino';
import { loadConfig } from '../../src/config.js';
import { startProxy } from '../../src/proxy.js';
import type { RunningProxy } from '../../src/proxy.js';
import { assertNoSecretsInLog, teedProxyLog } from './log-scan.js';

export interface Stack {
  readonly minio: MinioServer;
  readonly proxy: RunningProxy;
  /** Talks to the proxy with the same credentials the app would use for MinIO. */
  readonly client: S3Client;
  /** Talks to MinIO directly: to look at what is really stored. */
  readonly raw: S3Client;
  readonly keyringDir: string;
  readonly bucket: string;
  /** The upload state store, when the stack was started with `valkey`. */
  readonly valkey: ValkeyServer | undefined;
  /** The proxy's log (JSON lines), unless the test gave its own logger; scanned for secrets at stop. */
  readonly logFile: string | undefined;
  /** Secrets this stack handed the proxy, by name (what the log scan looks for). */
  readonly secrets: Readonly<Record<string, string>>;
  /** Stops everything, then fails if the proxy's log holds a secret or a request credential. */
  stop(): Promise<void>;
}

export interface StackOptions {
  /** Extra proxy options as environment variables (e.g. S3SEAL_LEGACY). */
  readonly env?: Record<string, string>;
  readonly minio?: MinioServer;
  /** The proxy's logger (default: trace level into a file the stack scans for secrets at stop, see log-scan.ts, echoed at S3SEAL_TEST_LOG's level), e.g. to wait for a request's end. */
  readonly log?: Logger;
  /** Multipart on: true starts a redis-server (stopped with the stack), or give one to share. */
  readonly valkey?: boolean | ValkeyServer;
  /** A keyring directory to share with another stack (kept at stop), instead of a fresh one. */
  readonly keyringDir?: string;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const minio = options.minio ?? (await startMinio());
  const valkey =
    options.valkey === true ? await startValkey() : options.valkey === false ? undefined : options.valkey;
  const keyringDir = options.keyringDir ?? (await mkdtemp(join(tmpdir(), 's3seal-kek-')));
  const secrets: Record<string, string> = { 'the MinIO secret key': minio.secretAccessKey };
  if (!options.keyringDir) {
    const kek = randomBytes(32).toString('base64');
    secrets['the KEK'] = kek;
    await writeFile(join(keyringDir, 'v1'), kek);
    await writeFile(join(keyringDir, 'active'), 'v1');
  }
  const valkeyPassword = valkey ? new URL(valkey.url).password : '';
  if (valkeyPassword) secrets['the Valkey password'] = decodeURIComponent(valkeyPassword);
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (/SECRET|PASSWORD|TOKEN|KEK_V\d/.test(name)) secrets[name] = value;
    if (name === 'S3SEAL_VALKEY_URL' && new URL(value).password)
      secrets['the Valkey password'] = decodeURIComponent(new URL(value).password);
  }
  const config = loadConfig([], {
    S3SEAL_LISTEN: '127.0.0.1:0',
    S3SEAL_UPSTREAM: minio.endpoint,
    S3SEAL_KEK_DIR: keyringDir,
    AWS_ACCESS_KEY_ID: minio.accessKeyId,
    AWS_SECRET_ACCESS_KEY: minio.secretAccessKey,
    ...(valkey ? { S3SEAL_VALKEY_URL: valkey.url } : {}),
    ...options.env,
  });
  const teed = options.log ? undefined : teedProxyLog(process.env['S3SEAL_TEST_LOG']);
  const proxy = await startProxy(config, options.log ?? teed!.log);
  const credentials = { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey };
  const client = new S3Client({
    endpoint: proxy.url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials,
  });
  const raw = new S3Client({
    endpoint: minio.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials,
  });
  const bucket = `b-${randomBytes(4).toString('hex')}`;
  await raw.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    minio,
    proxy,
    client,
    raw,
    keyringDir,
    bucket,
    valkey,
    logFile: teed?.file,
    secrets,
    stop: async () => {
      client.destroy();
      raw.destroy();
      await proxy.close();
      if (!options.minio) await minio.stop();
      if (options.valkey === true) await valkey?.stop();
      if (!options.keyringDir) await rm(keyringDir, { recursive: true, force: true });
      if (teed) await assertNoSecretsInLog(teed.file, secrets);
    },
  };
}

/** The bytes MinIO really holds for a key. */
export async function readRaw(
  stack: Stack,
  key: string,
  bucket = stack.bucket,
): Promise<{ body: Buffer; metadata: Record<string, string> }> {
  return readRawObject(stack.raw, bucket, key);
}

/** See assertCiphertextAtRest (testkit): s3seal metadata, and no run of 32 plaintext bytes stored. */
export async function expectCiphertextAtRest(
  stack: Stack,
  key: string,
  plaintext: Buffer,
  bucket = stack.bucket,
): Promise<void> {
  await assertCiphertextAtRest(stack.raw, bucket, key, plaintext);
}

/**
 * `expectCiphertextAtRest` for a plaintext in a file (too big to hold twice in memory): samples
 * `windows` runs of 32 bytes from the file and streams the stored object, which must contain
 * none of them and carry s3seal metadata. Returns that metadata and the stored ETag.
 */
export async function expectFileCiphertextAtRest(
  stack: Stack,
  key: string,
  file: string,
  { bucket = stack.bucket, windows = 64 }: { bucket?: string; windows?: number } = {},
): Promise<{ metadata: Record<string, string>; etag: string | undefined }> {
  const width = 32;
  const samples: { at: number; bytes: Buffer }[] = [];
  const handle = await open(file);
  try {
    const { size } = await handle.stat();
    if (size < width) throw new Error(`${file} is too small for expectFileCiphertextAtRest`);
    const step = Math.max(1, Math.floor((size - width) / windows));
    for (let at = 0; at + width <= size && samples.length < windows; at += step) {
      const bytes = Buffer.alloc(width);
      await handle.read(bytes, 0, width, at);
      samples.push({ at, bytes });
    }
  } finally {
    await handle.close();
  }
  const out = await stack.raw.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const metadata = out.Metadata ?? {};
  if (metadata['s3seal-v'] !== '1') throw new Error(`object ${key} has no s3seal metadata at rest`);
  // Searched chunk by chunk, with the last width-1 bytes carried over the chunk boundary.
  let carry = Buffer.alloc(0);
  for await (const chunk of out.Body as Readable) {
    const haystack = Buffer.concat([carry, chunk as Buffer]);
    for (const { at, bytes } of samples) {
      if (haystack.includes(bytes)) {
        throw new Error(`plaintext bytes ${at}..${at + width} of ${key} are stored in clear`);
      }
    }
    carry = haystack.subarray(Math.max(0, haystack.length - (width - 1)));
  }
  return { metadata, etag: out.ETag };
}

/** Plaintext that is easy to spot if it ever leaks (repeating text), of any size. */
export function recognisable(size: number, seed = 'the quick brown fox jumps over the lazy dog; '): Buffer {
  const out = Buffer.alloc(size);
  for (let at = 0; at < size; at += seed.length) out.write(seed, at);
  return out;
}
