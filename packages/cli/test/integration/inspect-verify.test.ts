// `s3seal inspect` and `s3seal verify` against a real MinIO, on objects written through the
// real proxy (multipart on, with a real redis-server): fields of single and multipart objects,
// a clean verify, then a tampered object and a legacy one.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { createHash } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { readKeyringDirectory } from '@s3seal/proxy';
import { readRawObject, startMinio, startValkey } from '@s3seal/testkit';
import type { MinioServer, ValkeyServer } from '@s3seal/testkit';
import { expectCiphertextAtRest, startStack } from '../../../proxy/test/helpers/stack.js';
import type { Stack } from '../../../proxy/test/helpers/stack.js';
import { inspectObject } from '../../src/objects/inspect-object.js';
import type { InspectReport } from '../../src/objects/inspect-object.js';
import type { BulkSummary } from '../../src/bulk/summary.js';
import { numbered, put, putMultipart, runCli } from '../helpers/cli.js';

jest.setTimeout(120_000);

const MiB = 1024 * 1024;
const C = 64 * 1024;
let minio: MinioServer;
let valkey: ValkeyServer;
let stack: Stack;
beforeAll(async () => {
  minio = await startMinio();
  valkey = await startValkey();
  stack = await startStack({ minio, valkey });
});
afterAll(async () => {
  await stack?.stop();
  await valkey?.stop();
  await minio?.stop();
});

const small = Buffer.from('a small sealed object, one chunk long');
const parts = [numbered(5 * MiB), numbered(5 * MiB, 5 * MiB), numbered(MiB + 7, 10 * MiB)];
const sealedPart = (p: number): number => 32 + p + 16 * Math.ceil(p / C);

describe('s3seal inspect', () => {
  beforeAll(async () => {
    await put(stack.client, stack.bucket, 'inspect/small.txt', small, { ContentType: 'text/plain' });
    await putMultipart(stack.client, stack.bucket, 'inspect/big.bin', parts);
    await expectCiphertextAtRest(stack, 'inspect/small.txt', small);
  });

  it('shows a single-PUT object’s envelope (as a process, --json)', async () => {
    const { code, stdout } = await runCli(
      [
        'inspect',
        `s3://${stack.bucket}/inspect/small.txt`,
        '--path-style',
        '--keyring',
        stack.keyringDir,
        '--json',
      ],
      minio,
    );
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({
      bucket: stack.bucket,
      key: 'inspect/small.txt',
      isSealed: true,
      formatVersion: 1,
      algorithm: 'AES256GCM',
      chunkSizeBytes: C,
      layout: 'single',
      plaintextBytes: small.length,
      sealedBytes: small.length + 16,
      // A body of at most one chunk is read whole by the proxy, so its MD5 is recorded.
      plaintextMd5: createHash('md5').update(small).digest('hex'),
      isKeyBound: true,
      keyringId: 'default',
      kekVersion: 'v1',
      isKekInKeyring: true,
      doesDekUnwrap: true,
    });
  });

  it('shows a multipart object’s parts, from HEAD ?partNumber=N', async () => {
    const keyring = await readKeyringDirectory(stack.keyringDir, 'default');
    const report = (await inspectObject(stack.raw, stack.bucket, 'inspect/big.bin', keyring)) as Extract<
      InspectReport,
      { isSealed: true }
    >;
    expect(report).toMatchObject({
      layout: 'multipart',
      plaintextBytes: 11 * MiB + 7,
      sealedBytes: parts.reduce((s, p) => s + sealedPart(p.length), 0),
      plaintextMd5: undefined,
      kekVersion: 'v1',
      isKekInKeyring: true,
    });
    expect(report.parts).toEqual(
      parts.map((p, i) => ({
        partNumber: i + 1,
        plaintextBytes: p.length,
        sealedBytes: sealedPart(p.length),
      })),
    );
  });

  it('prints the report for people, and says when no keyring was given', async () => {
    const { code, stdout } = await runCli(
      ['inspect', `s3://${stack.bucket}/inspect/big.bin`, '--path-style'],
      minio,
    );
    expect(code).toBe(0);
    expect(stdout).toMatch(/layout +multipart/);
    expect(stdout).toMatch(/kek version +v1 \(no keyring given\)/);
    expect(stdout).toMatch(/parts +3\n +part 1 +plaintext 5242880 +sealed 5244192/);
  });

  it('reports a legacy object as not encrypted', async () => {
    await stack.raw.send(
      new PutObjectCommand({ Bucket: stack.bucket, Key: 'inspect/plain.txt', Body: 'plain' }),
    );
    const report = await inspectObject(stack.raw, stack.bucket, 'inspect/plain.txt', undefined);
    expect(report).toMatchObject({ isSealed: false, storedBytes: 5 });
  });
});

describe('s3seal verify', () => {
  const single = numbered(300 * 1024);
  beforeAll(async () => {
    await put(stack.client, stack.bucket, 'verify/small.txt', small);
    await put(stack.client, stack.bucket, 'verify/single.bin', single);
    await putMultipart(stack.client, stack.bucket, 'verify/big.bin', parts);
    await stack.raw.send(
      new PutObjectCommand({ Bucket: stack.bucket, Key: 'verify/legacy.txt', Body: 'plain' }),
    );
  });

  const verify = (): Promise<{ code: number; summary: BulkSummary }> =>
    runCli(
      ['verify', `s3://${stack.bucket}/verify/`, '--path-style', '--keyring', stack.keyringDir, '--json'],
      minio,
    ).then(({ code, stdout }) => ({ code, summary: JSON.parse(stdout) as BulkSummary }));

  it('passes good objects, lists legacy ones, exits 0', async () => {
    const { code, summary } = await verify();
    expect(code).toBe(0);
    expect(summary.counts).toEqual({ ok: 3, legacy: 1, failed: 0 });
    expect(summary.listed['legacy']).toEqual([{ key: 'verify/legacy.txt' }]);
    expect(summary.objects).toBe(4);
  });

  it('reports a flipped ciphertext byte and exits 1', async () => {
    const { body, metadata } = await readRawObject(stack.raw, stack.bucket, 'verify/single.bin');
    body[200_000]! ^= 0x01;
    await stack.raw.send(
      new PutObjectCommand({
        Bucket: stack.bucket,
        Key: 'verify/single.bin',
        Body: body,
        Metadata: metadata,
      }),
    );
    const { code, summary } = await verify();
    expect(code).toBe(1);
    expect(summary.counts).toEqual({ ok: 2, legacy: 1, failed: 1 });
    expect(summary.failed).toEqual([
      expect.objectContaining({ key: 'verify/single.bin', code: 'S3SEAL_CIPHERTEXT_INVALID' }),
    ]);
  });

  it('reports a truncated multipart object, and renders failures for people', async () => {
    const { body, metadata } = await readRawObject(stack.raw, stack.bucket, 'verify/big.bin');
    await stack.raw.send(
      new PutObjectCommand({
        Bucket: stack.bucket,
        Key: 'verify/big.bin',
        Body: body.subarray(0, body.length - 100),
        Metadata: metadata,
      }),
    );
    const { code, stdout } = await runCli(
      ['verify', `s3://${stack.bucket}/verify/`, '--path-style', '--keyring', stack.keyringDir],
      minio,
    );
    expect(code).toBe(1);
    expect(stdout).toMatch(/failed +2/);
    expect(stdout).toContain(`s3://${stack.bucket}/verify/big.bin  S3SEAL_CIPHERTEXT_INVALID`);
    expect(stdout).toContain(`legacy:\n  s3://${stack.bucket}/verify/legacy.txt`);
  });
});
