// Runs the built `s3seal` as a process against a MinIO of the rig, and the helpers the CLI's
// integration tests share: objects written through the proxy (single and multipart), raw reads.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import type { MinioServer } from '@s3seal/testkit';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const cli = path.join(repo, 'packages/cli/dist/main.js');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `node packages/cli/dist/main.js <args>` with the backend in the standard AWS variables (and `env`). */
export async function runCli(
  args: readonly string[],
  minio: MinioServer,
  /** More variables (a Vault token, say: kept out of config files, as a deployment would). */
  env: Readonly<Record<string, string>> = {},
): Promise<CliResult> {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` (make test does)`);
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [cli, ...args],
      {
        cwd: repo,
        timeout: 110_000,
        maxBuffer: 16 << 20,
        env: {
          PATH: process.env['PATH'] ?? '',
          AWS_ENDPOINT_URL: minio.endpoint,
          AWS_REGION: minio.region,
          AWS_ACCESS_KEY_ID: minio.accessKeyId,
          AWS_SECRET_ACCESS_KEY: minio.secretAccessKey,
          ...env,
        },
      },
      (err, stdout, stderr) => {
        // A number is the exit code; anything else (a signal, a timeout) is a failure to run.
        if (err && typeof err.code !== 'number')
          reject(new Error(`s3seal ${args.join(' ')} did not run: ${err.message}\n${stderr}`));
        else resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
      },
    );
  });
}

export async function put(
  client: S3Client,
  bucket: string,
  key: string,
  body: Buffer,
  extra: { ContentType?: string; Metadata?: Record<string, string>; Tagging?: string } = {},
): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...extra }));
}

export async function read(client: S3Client, bucket: string, key: string, range?: string): Promise<Buffer> {
  const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: range }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

export async function rawMetadata(
  raw: S3Client,
  bucket: string,
  key: string,
): Promise<Record<string, string>> {
  return (await raw.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).Metadata ?? {};
}

/** Plaintext whose every 16 bytes differ ("000000000000123\n"): a misplaced byte shows. */
export function numbered(size: number, from = 0): Buffer {
  const out = Buffer.alloc(size);
  for (let line = 0; line * 16 < size; line++) {
    out.write(
      `${String(from + line).padStart(15, '0')}\n`,
      line * 16,
      Math.min(16, size - line * 16),
      'latin1',
    );
  }
  return out;
}

/**
 * Throws unless two bodies are the same bytes. `expect(a).toEqual(b)` compares buffers element
 * by element, which takes tens of seconds for a few MiB; this names sizes and MD5s instead.
 */
export function expectSameBytes(actual: Buffer, expected: Buffer, what: string): void {
  if (actual.equals(expected)) return;
  const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');
  throw new Error(
    `${what}: got ${actual.length} bytes (md5 ${md5(actual)}), expected ${expected.length} (md5 ${md5(expected)})`,
  );
}

export { putMultipart } from '@s3seal/testkit';
