// PutObject, GetObject (whole and ranged), HeadObject and listings through the proxy, with
// @aws-sdk/client-s3 v3 and its default checksums, against a real MinIO.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { expectCiphertextAtRest, readRaw, recognisable, startStack } from '../helpers/stack.js';
import type { Stack } from '../helpers/stack.js';
import { s3Error } from '../helpers/s3-error.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

async function put(
  key: string,
  body: Buffer,
  extra: Partial<ConstructorParameters<typeof PutObjectCommand>[0]> = {},
): Promise<string> {
  const out = await stack.client.send(
    new PutObjectCommand({ Bucket: stack.bucket, Key: key, Body: body, ...extra }),
  );
  return out.ETag ?? '';
}

async function get(
  key: string,
  range?: string,
): Promise<{ body: Buffer; contentRange?: string; etag?: string; length?: number }> {
  const out = await stack.client.send(new GetObjectCommand({ Bucket: stack.bucket, Key: key, Range: range }));
  return {
    body: Buffer.from(await out.Body!.transformToByteArray()),
    contentRange: out.ContentRange,
    etag: out.ETag,
    length: out.ContentLength,
  };
}

const md5 = (b: Buffer): string => `"${createHash('md5').update(b).digest('hex')}"`;

describe('PutObject and GetObject', () => {
  it.each([0, 1, 100, 64 * 1024 - 1, 64 * 1024, 64 * 1024 + 1, 3 * 1024 * 1024 + 17])(
    'round-trips %i bytes and stores only ciphertext',
    async (size) => {
      const key = `sizes/${size}.bin`;
      const body = size % 2 === 0 ? recognisable(size) : randomBytes(size);
      await put(key, body);
      const back = await get(key);
      expect(back.body.equals(body)).toBe(true);
      expect(back.length).toBe(size);
      await expectCiphertextAtRest(stack, key, body);
    },
  );

  it.each(['CRC32', 'CRC32C', 'SHA1', 'SHA256', 'CRC64NVME'] as const)(
    'accepts a streamed body (aws-chunked with a %s trailer) and stores ciphertext',
    async (algorithm) => {
      const body = randomBytes(700_000);
      const key = `stream/${algorithm}`;
      // A stream of unknown framing: the SDK sends STREAMING-UNSIGNED-PAYLOAD-TRAILER over http.
      await put(key, undefined as unknown as Buffer, {
        Body: Readable.from([body.subarray(0, 300_000), body.subarray(300_000)]),
        ContentLength: body.length,
        ChecksumAlgorithm: algorithm,
      });
      expect((await get(key)).body.equals(body)).toBe(true);
      await expectCiphertextAtRest(stack, key, body);
    },
  );

  it("never forwards the client's plaintext checksum as if it described the stored bytes", async () => {
    const body = randomBytes(90_000);
    await put('checksum/crc32', body, { ChecksumAlgorithm: 'CRC32' });
    const raw = await stack.raw.send(
      new HeadObjectCommand({ Bucket: stack.bucket, Key: 'checksum/crc32', ChecksumMode: 'ENABLED' }),
    );
    const plainCrc = Buffer.alloc(4);
    plainCrc.writeUInt32BE(crc32(body));
    expect(raw.ChecksumCRC32).not.toBe(plainCrc.toString('base64'));
  });

  it('keeps tagging, cache and disposition headers', async () => {
    const body = randomBytes(70_000);
    await put('headers/all', body, {
      Tagging: 'team=storage&tier=gold',
      CacheControl: 'max-age=60',
      ContentDisposition: 'attachment; filename="x.bin"',
      ContentLanguage: 'en',
    });
    const head = await stack.client.send(new HeadObjectCommand({ Bucket: stack.bucket, Key: 'headers/all' }));
    expect([head.CacheControl, head.ContentDisposition, head.ContentLanguage]).toEqual([
      'max-age=60',
      'attachment; filename="x.bin"',
      'en',
    ]);
    const tags = await stack.client.send(
      new GetObjectTaggingCommand({ Bucket: stack.bucket, Key: 'headers/all' }),
    );
    expect(new Map(tags.TagSet?.map((t) => [t.Key, t.Value]))).toEqual(
      new Map([
        ['team', 'storage'],
        ['tier', 'gold'],
      ]),
    );
  });

  it('keeps the client metadata and content type, and hides its own', async () => {
    const body = recognisable(5000);
    await put('meta/doc.txt', body, {
      ContentType: 'text/plain',
      Metadata: { owner: 'alice', 'build-id': '42' },
    });
    const head = await stack.client.send(
      new HeadObjectCommand({ Bucket: stack.bucket, Key: 'meta/doc.txt' }),
    );
    expect(head.ContentLength).toBe(5000);
    expect(head.ContentType).toBe('text/plain');
    expect(head.Metadata).toEqual({ owner: 'alice', 'build-id': '42' });
    const raw = await readRaw(stack, 'meta/doc.txt');
    expect(raw.metadata['owner']).toBe('alice');
    expect(Object.keys(raw.metadata).some((k) => k.startsWith('s3seal-'))).toBe(true);
  });

  it('returns the plaintext MD5 as the ETag of small objects, the same on PUT, HEAD and GET', async () => {
    const body = randomBytes(3000);
    const etag = await put('etag/small', body);
    expect(etag).toBe(md5(body));
    const head = await stack.client.send(new HeadObjectCommand({ Bucket: stack.bucket, Key: 'etag/small' }));
    expect(head.ETag).toBe(etag);
    expect((await get('etag/small')).etag).toBe(etag);
  });

  it('returns the plaintext MD5 for large objects sent with Content-MD5', async () => {
    const body = randomBytes(200_000);
    const contentMd5 = createHash('md5').update(body).digest('base64');
    const etag = await put('etag/large-md5', body, { ContentMD5: contentMd5 });
    expect(etag).toBe(md5(body));
    const head = await stack.client.send(
      new HeadObjectCommand({ Bucket: stack.bucket, Key: 'etag/large-md5' }),
    );
    expect(head.ETag).toBe(etag);
  });

  it('refuses a body that does not match its Content-MD5, and stores nothing', async () => {
    const body = randomBytes(200_000);
    const wrong = createHash('md5').update('something else').digest('base64');
    const err = await s3Error(put('bad/md5', body, { ContentMD5: wrong }));
    expect(err.status).toBe(400);
    expect(err.name).toBe('BadDigest');
    expect((await s3Error(readRaw(stack, 'bad/md5'))).name).toBe('NoSuchKey');
  });

  it('honours conditional writes: If-None-Match: * on an existing key is refused, the key kept', async () => {
    const first = randomBytes(300_000);
    await put('cond/once', first);
    const err = await s3Error(put('cond/once', randomBytes(300_000), { IfNoneMatch: '*' }));
    expect(err.status).toBe(412);
    expect((await get('cond/once')).body.equals(first)).toBe(true);
  });

  it('refuses client metadata under the reserved prefix', async () => {
    const err = await s3Error(put('bad/reserved', Buffer.from('x'), { Metadata: { 's3seal-v': '2' } }));
    expect(err.status).toBe(400);
  });

  it('refuses metadata that would not fit the 2 KiB limit with the encryption metadata', async () => {
    const err = await s3Error(
      put('bad/too-much-meta', Buffer.from('x'), { Metadata: { big: 'x'.repeat(1900) } }),
    );
    expect(err.name).toBe('MetadataTooLarge');
  });
});

describe('ranged GET', () => {
  const size = 1024 * 1024 + 12345;
  const body = randomBytes(size);
  beforeAll(async () => {
    await put('ranges/object', body);
  });

  it.each([
    ['bytes=0-0', 0, 0],
    ['bytes=0-99', 0, 99],
    ['bytes=65535-65536', 65535, 65536],
    ['bytes=500000-600000', 500000, 600000],
    [`bytes=${size - 10}-`, size - 10, size - 1],
    ['bytes=-100', size - 100, size - 1],
    [`bytes=1000-${size + 5000}`, 1000, size - 1],
  ])('%s', async (range, start, end) => {
    const out = await get('ranges/object', range);
    expect(out.body.equals(body.subarray(start, end + 1))).toBe(true);
    expect(out.contentRange).toBe(`bytes ${start}-${end}/${size}`);
  });

  it('answers 416 past the end', async () => {
    const err = await s3Error(get('ranges/object', `bytes=${size}-`));
    expect(err.status).toBe(416);
  });
});

describe('tampering and legacy objects', () => {
  it('refuses to serve an object whose stored bytes were altered', async () => {
    const body = randomBytes(100_000);
    await put('tamper/a', body);
    const raw = await readRaw(stack, 'tamper/a');
    raw.body[raw.body.length - 5]! ^= 1;
    await stack.raw.send(
      new PutObjectCommand({ Bucket: stack.bucket, Key: 'tamper/a', Body: raw.body, Metadata: raw.metadata }),
    );
    // The first chunk is fine and may already be on its way; the download must not complete.
    await expect(get('tamper/a')).rejects.toThrow();
  });

  it('refuses an object swapped in from another key', async () => {
    await put('swap/a', Buffer.from('contents of a'));
    const raw = await readRaw(stack, 'swap/a');
    await stack.raw.send(
      new PutObjectCommand({ Bucket: stack.bucket, Key: 'swap/b', Body: raw.body, Metadata: raw.metadata }),
    );
    const err = await s3Error(get('swap/b'));
    expect(err.status).toBe(500);
    expect(err.name).toBe('DecryptionFailed');
  });

  it('refuses an object written around the proxy, naming the option', async () => {
    await stack.raw.send(new PutObjectCommand({ Bucket: stack.bucket, Key: 'legacy/plain', Body: 'hello' }));
    const err = await s3Error(get('legacy/plain'));
    expect(err.name).toBe('ObjectNotEncrypted');
    expect(err.status).toBe(403);
  });
});

describe('listings', () => {
  it('show plaintext sizes in v1 and v2, with prefixes and delimiters untouched', async () => {
    const sizes = [0, 1, 65536, 200_001];
    for (const size of sizes) await put(`list/dir/${size}`, randomBytes(size));
    await put('list/other/x', randomBytes(10));
    const v2 = await stack.client.send(
      new ListObjectsV2Command({ Bucket: stack.bucket, Prefix: 'list/dir/' }),
    );
    expect(new Map(v2.Contents!.map((o) => [o.Key, o.Size]))).toEqual(
      new Map(sizes.map((s) => [`list/dir/${s}`, s])),
    );
    const v1 = await stack.client.send(
      new ListObjectsCommand({ Bucket: stack.bucket, Prefix: 'list/', Delimiter: '/' }),
    );
    expect(v1.CommonPrefixes?.map((p) => p.Prefix).sort()).toEqual(['list/dir/', 'list/other/']);
  });

  it('pages through 1000-key pages with continuation tokens', async () => {
    const keys = Array.from({ length: 1100 }, (_, i) => `page/${String(i).padStart(5, '0')}`);
    for (let i = 0; i < keys.length; i += 50) {
      await Promise.all(keys.slice(i, i + 50).map((k) => put(k, Buffer.from(k))));
    }
    const first = await stack.client.send(
      new ListObjectsV2Command({ Bucket: stack.bucket, Prefix: 'page/' }),
    );
    expect(first.Contents).toHaveLength(1000);
    expect(first.IsTruncated).toBe(true);
    const second = await stack.client.send(
      new ListObjectsV2Command({
        Bucket: stack.bucket,
        Prefix: 'page/',
        ContinuationToken: first.NextContinuationToken,
      }),
    );
    expect(second.Contents).toHaveLength(100);
    expect(second.Contents!.every((o) => o.Size === 10)).toBe(true);
  });
});

describe('CopyObject', () => {
  it('copies an encrypted object, keeping its metadata with the COPY directive', async () => {
    const body = randomBytes(150_000);
    await put('copy/src', body, { ContentType: 'application/x-test', Metadata: { origin: 'src' } });
    const out = await stack.client.send(
      new CopyObjectCommand({
        Bucket: stack.bucket,
        Key: 'copy/dst',
        CopySource: `${stack.bucket}/copy/src`,
      }),
    );
    expect(out.CopyObjectResult?.ETag).toBeDefined();
    const head = await stack.client.send(new HeadObjectCommand({ Bucket: stack.bucket, Key: 'copy/dst' }));
    expect(head.ETag).toBe(out.CopyObjectResult?.ETag);
    expect(head.ContentType).toBe('application/x-test');
    expect(head.Metadata).toEqual({ origin: 'src' });
    expect((await get('copy/dst')).body.equals(body)).toBe(true);
    expect((await get('copy/src')).body.equals(body)).toBe(true);
    await expectCiphertextAtRest(stack, 'copy/dst', body);
  });

  it('replaces metadata with the REPLACE directive, and copies keys with odd characters', async () => {
    const body = randomBytes(1000);
    const key = 'copy/odd name+plus €uro/=&?';
    await put(key, body, { Metadata: { origin: 'src' } });
    await stack.client.send(
      new CopyObjectCommand({
        Bucket: stack.bucket,
        Key: 'copy/replaced',
        CopySource: encodeURIComponent(`${stack.bucket}/${key}`),
        MetadataDirective: 'REPLACE',
        Metadata: { origin: 'new' },
        ContentType: 'text/plain',
      }),
    );
    const head = await stack.client.send(
      new HeadObjectCommand({ Bucket: stack.bucket, Key: 'copy/replaced' }),
    );
    expect(head.Metadata).toEqual({ origin: 'new' });
    expect(head.ContentType).toBe('text/plain');
    expect((await get('copy/replaced')).body.equals(body)).toBe(true);
  });

  it('honours copy-source conditions and refuses a copy onto itself without changes', async () => {
    await put('copy/cond', Buffer.from('conditional'));
    const failed = await s3Error(
      stack.client.send(
        new CopyObjectCommand({
          Bucket: stack.bucket,
          Key: 'copy/cond2',
          CopySource: `${stack.bucket}/copy/cond`,
          CopySourceIfMatch: '"nope"',
        }),
      ),
    );
    expect(failed.status).toBe(412);
    const self = await s3Error(
      stack.client.send(
        new CopyObjectCommand({
          Bucket: stack.bucket,
          Key: 'copy/cond',
          CopySource: `${stack.bucket}/copy/cond`,
        }),
      ),
    );
    expect(self.status).toBe(400);
  });
});

describe('deletes', () => {
  it('forwards DeleteObject', async () => {
    await put('del/x', Buffer.from('x'));
    await stack.client.send(new DeleteObjectCommand({ Bucket: stack.bucket, Key: 'del/x' }));
    expect((await s3Error(get('del/x'))).name).toBe('NoSuchKey');
  });
});
