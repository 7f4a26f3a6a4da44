// Key rotation end to end against a real MinIO: objects written through the real proxy under
// v1 (single and multipart), `keygen --rotate` adds v2, `rewrap` moves every object to v2
// server-side, and with v1 deleted from the keyring a proxy restarted with v2 alone still reads
// every object, whole and across part boundaries. A second run changes nothing; a concurrent
// overwrite is never replaced.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
} from '@aws-sdk/client-s3';
import { readKeyringDirectory } from '@s3seal/proxy';
import { startMinio, startValkey } from '@s3seal/testkit';
import type { MinioServer, ValkeyServer } from '@s3seal/testkit';
import { expectCiphertextAtRest, startStack } from '../../../proxy/test/helpers/stack.js';
import type { Stack } from '../../../proxy/test/helpers/stack.js';
import { rewrapPrefix } from '../../src/commands/rewrap.js';
import { createProgress } from '../../src/bulk/progress.js';
import type { BulkSummary } from '../../src/bulk/summary.js';
import { describeFailure } from '../../src/errors.js';
import { rewrapObject } from '../../src/objects/rewrap-object.js';
import { readStoredObject } from '../../src/s3/stored-object.js';
import type { SealedObject } from '../../src/s3/stored-object.js';
import { expectSameBytes, numbered, put, putMultipart, rawMetadata, read, runCli } from '../helpers/cli.js';

jest.setTimeout(120_000);

const MiB = 1024 * 1024;
let minio: MinioServer;
let valkey: ValkeyServer;
let keyringDir: string;
let stack: Stack;
let bucket: string;

const quiet = { concurrency: 4, progress: createProgress('test', { write: () => true }) };
const small = Buffer.from('rotate the key of this object, not its bytes');
const single = numbered(300 * 1024);
const parts = [numbered(5 * MiB), numbered(5 * MiB, 5 * MiB), numbered(MiB + 7, 10 * MiB)];
const whole = Buffer.concat(parts);

beforeAll(async () => {
  [minio, valkey] = await Promise.all([startMinio(), startValkey()]);
  keyringDir = join(await mkdtemp(join(tmpdir(), 's3seal-cli-kek-')), 'keyring');
  const created = await runCli(['keygen', keyringDir], minio);
  expect(created.code).toBe(0);
  stack = await startStack({ minio, valkey, keyringDir });
  bucket = stack.bucket;
});
afterAll(async () => {
  await stack?.stop();
  await valkey?.stop();
  await minio?.stop();
  if (keyringDir) await rm(join(keyringDir, '..'), { recursive: true, force: true });
});

const cliArgs = (...args: string[]): string[] => [...args, '--path-style', '--keyring', keyringDir];
const kekOf = async (key: string): Promise<string | undefined> =>
  (await rawMetadata(stack.raw, bucket, key))['s3seal-kek'];

describe('s3seal rewrap', () => {
  beforeAll(async () => {
    await put(stack.client, bucket, 'rot/small.txt', small, {
      ContentType: 'text/plain; charset=utf-8',
      Metadata: { owner: 'team-a' },
    });
    await put(stack.client, bucket, 'rot/single.bin', single);
    await putMultipart(stack.client, bucket, 'rot/big.bin', parts, {
      ContentType: 'application/x-tar',
      Metadata: { backup: 'base' },
    });
    for (const key of ['rot/small.txt', 'rot/big.bin']) {
      await stack.raw.send(
        new PutObjectTaggingCommand({
          Bucket: bucket,
          Key: key,
          Tagging: { TagSet: [{ Key: 'retention', Value: '30 days' }] },
        }),
      );
    }
    await stack.raw.send(new PutObjectCommand({ Bucket: bucket, Key: 'rot/legacy.txt', Body: 'plain' }));
    await put(stack.client, bucket, 'old/left-behind.txt', small);
    await put(stack.client, bucket, 'race/small.txt', small);
    await putMultipart(stack.client, bucket, 'race/big.bin', parts.slice(0, 2));
    await expectCiphertextAtRest(stack, 'rot/big.bin', whole);
    expect(await kekOf('rot/big.bin')).toBe('default:v1');
  });

  it('keygen --rotate adds v2 and makes it active, keeping v1', async () => {
    const v1 = await readFile(join(keyringDir, 'v1'), 'utf8');
    const { code, stdout } = await runCli(['keygen', keyringDir, '--rotate'], minio);
    expect(code).toBe(0);
    expect(stdout).toContain('added v2');
    expect((await readdir(keyringDir)).sort()).toEqual(['active', 'v1', 'v2']);
    expect((await readFile(join(keyringDir, 'active'), 'utf8')).trim()).toBe('v2');
    expect(await readFile(join(keyringDir, 'v1'), 'utf8')).toBe(v1);
  });

  it('never replaces an object overwritten after it was read (single and multipart)', async () => {
    const keyring = await readKeyringDirectory(keyringDir, 'default');
    for (const key of ['race/small.txt', 'race/big.bin']) {
      const stale = (await readStoredObject(stack.raw, bucket, key)) as SealedObject;
      const newer = Buffer.from(`written by someone else while ${key} was being rewrapped`);
      await put(stack.client, bucket, key, newer);
      const failure = await rewrapObject(stack.raw, keyring, stale, { isDryRun: false }).then(
        () => undefined,
        (err: unknown) => describeFailure(err),
      );
      expect(failure?.code).toBe('PreconditionFailed');
      expect(await read(stack.client, bucket, key)).toEqual(newer);
    }
    const uploads = await stack.raw.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    expect(uploads.Uploads ?? []).toEqual([]);
  });

  it('--dry-run lists what would change and writes nothing', async () => {
    const { code, stdout } = await runCli(
      cliArgs('rewrap', `s3://${bucket}/rot/`, '--dry-run', '--json'),
      minio,
    );
    expect(code).toBe(0);
    const summary = JSON.parse(stdout) as BulkSummary;
    expect(summary.counts).toEqual({ 'would-rewrap': 3, current: 0, legacy: 1, failed: 0 });
    expect(summary.listed['would-rewrap']!.map((e) => e.key).sort()).toEqual([
      'rot/big.bin',
      'rot/single.bin',
      'rot/small.txt',
    ]);
    expect(summary.listed['would-rewrap']![0]!.detail).toBe('default:v1 -> default:v2');
    expect(await kekOf('rot/big.bin')).toBe('default:v1');
  });

  it('moves every object to v2, keeping content headers, metadata, tags and the part layout', async () => {
    const { code, stdout } = await runCli(cliArgs('rewrap', `s3://${bucket}/rot/`, '--json'), minio);
    expect(code).toBe(0);
    expect((JSON.parse(stdout) as BulkSummary).counts).toEqual({
      rewrapped: 3,
      current: 0,
      legacy: 1,
      failed: 0,
    });
    for (const key of ['rot/small.txt', 'rot/single.bin', 'rot/big.bin'])
      expect(await kekOf(key)).toBe('default:v2');

    const smallHead = await stack.raw.send(new HeadObjectCommand({ Bucket: bucket, Key: 'rot/small.txt' }));
    expect(smallHead.ContentType).toBe('text/plain; charset=utf-8');
    expect(smallHead.Metadata?.['owner']).toBe('team-a');
    const bigHead = await stack.raw.send(
      new HeadObjectCommand({ Bucket: bucket, Key: 'rot/big.bin', PartNumber: 1 }),
    );
    expect(bigHead.PartsCount).toBe(3);
    expect(bigHead.ContentType).toBe('application/x-tar');
    expect(bigHead.Metadata?.['backup']).toBe('base');
    for (const key of ['rot/small.txt', 'rot/big.bin']) {
      const tags = await stack.raw.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
      expect(tags.TagSet).toEqual([{ Key: 'retention', Value: '30 days' }]);
    }
    await expectCiphertextAtRest(stack, 'rot/big.bin', whole);
  });

  it('a second run changes nothing (a stopped run resumes)', async () => {
    const keyring = await readKeyringDirectory(keyringDir, 'default');
    const summary = await rewrapPrefix(
      stack.raw,
      keyring,
      { bucket, key: 'rot/' },
      { ...quiet, isDryRun: false },
    );
    expect(summary.counts).toEqual({ rewrapped: 0, current: 3, legacy: 1, failed: 0 });
  });

  it('with v1 deleted, a proxy holding only v2 reads every object, whole and across part boundaries', async () => {
    await rm(join(keyringDir, 'v1'));
    await stack.stop();
    stack = await startStack({ minio, valkey, keyringDir });
    expect(await read(stack.client, bucket, 'rot/small.txt')).toEqual(small);
    expectSameBytes(await read(stack.client, bucket, 'rot/single.bin'), single, 'rot/single.bin');
    expectSameBytes(await read(stack.client, bucket, 'rot/big.bin'), whole, 'rot/big.bin');
    for (const boundary of [5 * MiB, 10 * MiB]) {
      const [from, to] = [boundary - 70_000, boundary + 70_000];
      expectSameBytes(
        await read(stack.client, bucket, 'rot/big.bin', `bytes=${from}-${to}`),
        whole.subarray(from, to + 1),
        `rot/big.bin bytes ${from}-${to}`,
      );
    }
  });

  it('lists an object whose KEK version is gone from the keyring as failed, and exits 1', async () => {
    const { code, stdout } = await runCli(cliArgs('rewrap', `s3://${bucket}/old/`), minio);
    expect(code).toBe(1);
    expect(stdout).toMatch(/failed +1/);
    expect(stdout).toContain(`s3://${bucket}/old/left-behind.txt  S3SEAL_KEY_VERSION_UNKNOWN`);
  });
});
