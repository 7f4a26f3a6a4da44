// Recovery after a stolen KEK, end to end against a real MinIO: objects written through the real
// proxy under v1 (single and multipart), `keygen --rotate` adds v2, `s3seal reencrypt` seals every
// object again under a NEW data key wrapped by v2 (the stored bytes change, unlike a rewrap), and
// the old metadata with the stolen v1 no longer opens the new ciphertext. With v1 deleted, a proxy
// holding only v2 reads every object; a concurrent overwrite is never replaced.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
} from '@aws-sdk/client-s3';
import { decodeMetadata, Keyring } from '@s3seal/core';
import { readKeyringDirectory } from '@s3seal/proxy';
import { readRawObject, startMinio, startValkey } from '@s3seal/testkit';
import type { MinioServer, ValkeyServer } from '@s3seal/testkit';
import { expectCiphertextAtRest, startStack } from '../../../proxy/test/helpers/stack.js';
import type { Stack } from '../../../proxy/test/helpers/stack.js';
import type { BulkSummary } from '../../src/bulk/summary.js';
import { reencryptObject } from '../../src/objects/reencrypt-object.js';
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

const small = Buffer.from('a stolen key must not open this object any more');
const single = numbered(300 * 1024);
const parts = [numbered(5 * MiB), numbered(5 * MiB, 5 * MiB), numbered(MiB + 7, 10 * MiB)];
const whole = Buffer.concat(parts);
const before = new Map<string, { metadata: Record<string, string>; stored: Buffer }>();

beforeAll(async () => {
  [minio, valkey] = await Promise.all([startMinio(), startValkey()]);
  keyringDir = join(await mkdtemp(join(tmpdir(), 's3seal-cli-reenc-')), 'keyring');
  expect((await runCli(['keygen', keyringDir], minio)).code).toBe(0);
  stack = await startStack({ minio, valkey, keyringDir });
  bucket = stack.bucket;
  await put(stack.client, bucket, 're/small.txt', small, {
    ContentType: 'text/plain; charset=utf-8',
    Metadata: { owner: 'team-a' },
  });
  await put(stack.client, bucket, 're/single.bin', single);
  await putMultipart(stack.client, bucket, 're/big.bin', parts, { Metadata: { backup: 'base' } });
  await stack.raw.send(
    new PutObjectTaggingCommand({
      Bucket: bucket,
      Key: 're/small.txt',
      Tagging: { TagSet: [{ Key: 'retention', Value: '30 days' }] },
    }),
  );
  await stack.raw.send(new PutObjectCommand({ Bucket: bucket, Key: 're/legacy.txt', Body: 'plain' }));
  for (const key of ['re/small.txt', 're/single.bin', 're/big.bin']) {
    const raw = await readRawObject(stack.raw, bucket, key);
    before.set(key, { metadata: raw.metadata, stored: raw.body });
  }
  expect((await runCli(['keygen', keyringDir, '--rotate'], minio)).code).toBe(0);
});

afterAll(async () => {
  await stack?.stop();
  await valkey?.stop();
  await minio?.stop();
  if (keyringDir) await rm(join(keyringDir, '..'), { recursive: true, force: true });
});

const cliArgs = (...args: string[]): string[] => [...args, '--path-style', '--keyring', keyringDir, '--json'];

describe('s3seal reencrypt', () => {
  it('a dry run opens every object and writes nothing', async () => {
    const { code, stdout } = await runCli(cliArgs('reencrypt', `s3://${bucket}/re/`, '--dry-run'), minio);
    expect(code).toBe(0);
    expect((JSON.parse(stdout) as BulkSummary).counts).toEqual({
      'would-reencrypt': 3,
      legacy: 1,
      failed: 0,
    });
    for (const [key, { stored }] of before)
      expect((await readRawObject(stack.raw, bucket, key)).body.equals(stored)).toBe(true);
  });

  it('seals every object again under a new data key wrapped by v2, keeping what describes it', async () => {
    const { code, stdout } = await runCli(cliArgs('reencrypt', `s3://${bucket}/re/`), minio);
    expect({ code, stdout }).toMatchObject({ code: 0 });
    expect((JSON.parse(stdout) as BulkSummary).counts).toEqual({ reencrypted: 3, legacy: 1, failed: 0 });
    await v1Key(); // kept for the next test, before a later one deletes v1
    for (const [key, old] of before) {
      const metadata = await rawMetadata(stack.raw, bucket, key);
      expect(metadata['s3seal-kek']).toBe('default:v2');
      expect(metadata['s3seal-layout']).toBe('single');
      // New bytes and a new wrapped key: not the same DEK re-wrapped.
      const stored = (await readRawObject(stack.raw, bucket, key)).body;
      expect(stored.equals(old.stored)).toBe(false);
      expect(metadata['s3seal-dek']).not.toBe(old.metadata['s3seal-dek']);
      expect(decodeMetadata(metadata).wrappedDek).toHaveLength(40);
    }
    expectSameBytes(await read(stack.client, bucket, 're/big.bin'), whole, 're/big.bin');
    expect(await read(stack.client, bucket, 're/small.txt')).toEqual(small);
    await expectCiphertextAtRest(stack, 're/big.bin', whole);
    await expectCiphertextAtRest(stack, 're/single.bin', single);
    const head = await stack.raw.send(new HeadObjectCommand({ Bucket: bucket, Key: 're/small.txt' }));
    expect(head.ContentType).toBe('text/plain; charset=utf-8');
    expect(head.Metadata?.['owner']).toBe('team-a');
    const tags = await stack.raw.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 're/small.txt' }));
    expect(tags.TagSet).toEqual([{ Key: 'retention', Value: '30 days' }]);
  });

  it('old metadata and the stolen v1 no longer open the new ciphertext', async () => {
    // The thief's position: v1 and a copy of the old metadata, facing the bytes stored now.
    const v1 = Keyring.fromKeys('default', new Map([['v1', await v1Key()]]), 'v1');
    const oldMetadata = before.get('re/single.bin')!.metadata;
    const { openBuffer } = await import('@s3seal/core');
    await expect(
      openBuffer(
        v1,
        oldMetadata,
        (await readRawObject(stack.raw, bucket, 're/single.bin')).body,
        're/single.bin',
      ),
    ).rejects.toMatchObject({ code: expect.stringMatching(/S3SEAL_(CIPHERTEXT_INVALID|FORMAT_ARGUMENT)/) });
  });

  it('with v1 deleted, a proxy holding only v2 reads every object', async () => {
    await rm(join(keyringDir, 'v1'));
    await stack.stop();
    stack = await startStack({ minio, valkey, keyringDir });
    expect(await read(stack.client, bucket, 're/small.txt')).toEqual(small);
    expectSameBytes(await read(stack.client, bucket, 're/single.bin'), single, 're/single.bin');
    expectSameBytes(await read(stack.client, bucket, 're/big.bin'), whole, 're/big.bin');
    const range = `bytes=${5 * MiB - 70_000}-${5 * MiB + 70_000}`;
    expectSameBytes(
      await read(stack.client, bucket, 're/big.bin', range),
      whole.subarray(5 * MiB - 70_000, 5 * MiB + 70_001),
      range,
    );
  });

  it('never replaces an object overwritten after it was read', async () => {
    await put(stack.client, bucket, 'race/x.txt', small);
    const object = (await readStoredObject(stack.raw, bucket, 'race/x.txt')) as SealedObject;
    await put(stack.client, bucket, 'race/x.txt', Buffer.from('the newer writer wins'));
    const keyring = await readKeyringDirectory(keyringDir, 'default');
    await expect(reencryptObject(stack.raw, keyring, object, { isDryRun: false })).rejects.toMatchObject({
      name: 'PreconditionFailed',
    });
    expect((await read(stack.client, bucket, 'race/x.txt')).toString()).toBe('the newer writer wins');
  });
});

let savedV1: Buffer | undefined;
/** v1's key bytes, read before the test that deletes it. */
async function v1Key(): Promise<Buffer> {
  savedV1 ??= Buffer.from(
    (await readKeyringDirectory(keyringDir, 'default')).get({ keyringId: 'default', version: 'v1' }).export(),
  );
  return savedV1;
}
