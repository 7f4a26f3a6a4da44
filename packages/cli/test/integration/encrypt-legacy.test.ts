// `s3seal encrypt-legacy` against a real MinIO: plaintext objects written straight to the
// backend become sealed in place (ciphertext at rest, readable through the real proxy, content
// type, metadata and tags kept); a dry run writes nothing, a re-run skips them, and an object
// overwritten after it was read is left as the newer writer wrote it.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { createHash } from 'node:crypto';
import { GetObjectTaggingCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { readKeyringDirectory } from '@s3seal/proxy';
import { readRawObject, startMinio } from '@s3seal/testkit';
import type { MinioServer } from '@s3seal/testkit';
import { expectCiphertextAtRest, startStack } from '../../../proxy/test/helpers/stack.js';
import type { Stack } from '../../../proxy/test/helpers/stack.js';
import { createProgress } from '../../src/bulk/progress.js';
import type { BulkSummary } from '../../src/bulk/summary.js';
import { encryptLegacyPrefix } from '../../src/commands/encrypt-legacy.js';
import { describeFailure } from '../../src/errors.js';
import { encryptLegacyObject } from '../../src/objects/encrypt-object.js';
import { readStoredObject } from '../../src/s3/stored-object.js';
import type { LegacyObject } from '../../src/s3/stored-object.js';
import { expectSameBytes, numbered, put, rawMetadata, read, runCli } from '../helpers/cli.js';

jest.setTimeout(120_000);

let minio: MinioServer;
let stack: Stack;
beforeAll(async () => {
  minio = await startMinio();
  stack = await startStack({ minio });
});
afterAll(async () => {
  await stack?.stop();
  await minio?.stop();
});

const note = Buffer.from('a plaintext object from before s3seal was deployed');
const archive = numbered(700 * 1024 + 3);
const options = {
  concurrency: 2,
  progress: createProgress('test', { write: () => true }),
  chunkSizeBytes: 64 * 1024,
  algorithm: 'AES256GCM' as const,
  bindObjectKey: true,
};

describe('s3seal encrypt-legacy', () => {
  beforeAll(async () => {
    await stack.raw.send(
      new PutObjectCommand({
        Bucket: stack.bucket,
        Key: 'legacy/note.txt',
        Body: note,
        ContentType: 'text/plain',
        CacheControl: 'max-age=60',
        Metadata: { origin: 'before-s3seal' },
        Tagging: 'team=data&keep=yes',
      }),
    );
    await stack.raw.send(
      new PutObjectCommand({ Bucket: stack.bucket, Key: 'legacy/archive.tar', Body: archive }),
    );
    await put(stack.client, stack.bucket, 'legacy/sealed.txt', Buffer.from('already sealed'));
  });

  const run = (...extra: string[]): Promise<{ code: number; summary: BulkSummary }> =>
    runCli(
      [
        'encrypt-legacy',
        `s3://${stack.bucket}/legacy/`,
        '--path-style',
        '--keyring',
        stack.keyringDir,
        '--json',
        ...extra,
      ],
      minio,
    ).then(({ code, stdout }) => ({ code, summary: JSON.parse(stdout) as BulkSummary }));

  it('--dry-run lists the legacy objects and writes nothing', async () => {
    const { code, summary } = await run('--dry-run');
    expect(code).toBe(0);
    expect(summary.counts).toEqual({ 'would-encrypt': 2, sealed: 1, failed: 0 });
    expect(summary.listed['would-encrypt']!.map((e) => e.key).sort()).toEqual([
      'legacy/archive.tar',
      'legacy/note.txt',
    ]);
    expect((await readRawObject(stack.raw, stack.bucket, 'legacy/note.txt')).body).toEqual(note);
  });

  it('seals them in place, keeping content headers, metadata and tags', async () => {
    const { code, summary } = await run();
    expect(code).toBe(0);
    expect(summary.counts).toEqual({ encrypted: 2, sealed: 1, failed: 0 });

    await expectCiphertextAtRest(stack, 'legacy/note.txt', note);
    await expectCiphertextAtRest(stack, 'legacy/archive.tar', archive);
    expect(await read(stack.client, stack.bucket, 'legacy/note.txt')).toEqual(note);
    expectSameBytes(
      await read(stack.client, stack.bucket, 'legacy/archive.tar'),
      archive,
      'legacy/archive.tar',
    );

    const head = await stack.client.send(
      new HeadObjectCommand({ Bucket: stack.bucket, Key: 'legacy/note.txt' }),
    );
    expect(head.ContentType).toBe('text/plain');
    expect(head.CacheControl).toBe('max-age=60');
    expect(head.Metadata).toEqual({ origin: 'before-s3seal' });
    // One chunk or less: read whole first, so its MD5 is recorded and is the ETag clients see.
    expect(head.ETag).toBe(`"${createHash('md5').update(note).digest('hex')}"`);
    const tags = await stack.raw.send(
      new GetObjectTaggingCommand({ Bucket: stack.bucket, Key: 'legacy/note.txt' }),
    );
    expect(tags.TagSet).toEqual(
      expect.arrayContaining([
        { Key: 'team', Value: 'data' },
        { Key: 'keep', Value: 'yes' },
      ]),
    );
    const archiveMetadata = await rawMetadata(stack.raw, stack.bucket, 'legacy/archive.tar');
    expect(archiveMetadata['s3seal-md5']).toBeUndefined();
    expect(archiveMetadata['s3seal-kek']).toBe('default:v1');
  });

  it('a re-run skips what is sealed, and verify passes it all', async () => {
    const keyring = await readKeyringDirectory(stack.keyringDir, 'default');
    const summary = await encryptLegacyPrefix(
      stack.raw,
      keyring,
      { bucket: stack.bucket, key: 'legacy/' },
      { ...options, isDryRun: false },
    );
    expect(summary.counts).toEqual({ encrypted: 0, sealed: 3, failed: 0 });
    const verify = await runCli(
      ['verify', `s3://${stack.bucket}/legacy/`, '--path-style', '--keyring', stack.keyringDir],
      minio,
    );
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/ok +3/);
  });

  it('leaves an object overwritten after it was read as the newer writer wrote it', async () => {
    const keyring = await readKeyringDirectory(stack.keyringDir, 'default');
    await stack.raw.send(new PutObjectCommand({ Bucket: stack.bucket, Key: 'race/a.txt', Body: 'first' }));
    const stale = (await readStoredObject(stack.raw, stack.bucket, 'race/a.txt')) as LegacyObject;
    await stack.raw.send(
      new PutObjectCommand({ Bucket: stack.bucket, Key: 'race/a.txt', Body: 'second, newer' }),
    );
    const failure = await encryptLegacyObject(stack.raw, keyring, stale, {
      ...options,
      isDryRun: false,
    }).then(
      () => undefined,
      (err: unknown) => describeFailure(err),
    );
    expect(failure?.code).toBe('PreconditionFailed');
    const { body, metadata } = await readRawObject(stack.raw, stack.bucket, 'race/a.txt');
    expect(body.toString()).toBe('second, newer');
    expect(metadata['s3seal-v']).toBeUndefined();
  });
});
