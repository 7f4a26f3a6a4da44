// Encrypted multipart uploads (docs/FORMAT.md §5a) through the proxy, against a real MinIO and a
// real redis-server holding the upload state: lib-storage uploads, the checks of
// CompleteMultipartUpload, reads of multipart objects (whole, ranged, by part), copies, two
// proxies sharing one Valkey, and Valkey going away.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  type ListPartsCommandOutput,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { freePort, startMinio, startValkey } from '@s3seal/testkit';
import type { MinioServer, ValkeyServer } from '@s3seal/testkit';
import { Redis } from 'ioredis';
import { expectCiphertextAtRest, readRaw, startStack } from '../helpers/stack.js';
import type { Stack } from '../helpers/stack.js';
import { s3Error } from '../helpers/s3-error.js';

const MiB = 1024 * 1024;
// Uploads of tens of MiB through the proxy take seconds: more than jest's 5 s default, which
// the integration project's testTimeout does not lift (jest reads it from the global config only).
jest.setTimeout(120_000);

let minio: MinioServer;
let stack: Stack;
beforeAll(async () => {
  minio = await startMinio();
  stack = await startStack({ minio, valkey: true });
});
afterAll(async () => {
  await stack?.stop();
  await minio?.stop();
});

/** Plaintext whose every 16 bytes differ ("000000000000123\n"): a misplaced byte shows. */
function numbered(size: number, from = 0): Buffer {
  const out = Buffer.alloc(size);
  for (let line = 0; line * 16 < size; line++) {
    const text = `${String(from + line).padStart(15, '0')}\n`;
    out.write(text, line * 16, Math.min(16, size - line * 16), 'latin1');
  }
  return out;
}

const md5 = (b: Buffer): string => `"${createHash('md5').update(b).digest('hex')}"`;

async function get(
  client: S3Client,
  bucket: string,
  key: string,
  extra: { Range?: string; PartNumber?: number } = {},
): Promise<{ body: Buffer; contentRange?: string; partsCount?: number; length?: number; etag?: string }> {
  const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...extra }));
  return {
    body: Buffer.from(await out.Body!.transformToByteArray()),
    contentRange: out.ContentRange,
    partsCount: out.PartsCount,
    length: out.ContentLength,
    etag: out.ETag,
  };
}

/** One multipart upload driven call by call, through any proxy's client. */
class Multipart {
  uploadId = '';
  constructor(
    readonly key: string,
    readonly target: Stack = stack,
  ) {}

  async create(client = this.target.client): Promise<this> {
    const out = await client.send(
      new CreateMultipartUploadCommand({ Bucket: this.target.bucket, Key: this.key, ContentType: 'x/test' }),
    );
    this.uploadId = out.UploadId!;
    return this;
  }

  async part(n: number, body: Buffer, client = this.target.client): Promise<string> {
    const out = await client.send(
      new UploadPartCommand({
        Bucket: this.target.bucket,
        Key: this.key,
        UploadId: this.uploadId,
        PartNumber: n,
        Body: body,
      }),
    );
    return out.ETag!;
  }

  complete(parts: [number, string][], client = this.target.client): Promise<{ ETag?: string }> {
    return client.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.target.bucket,
        Key: this.key,
        UploadId: this.uploadId,
        MultipartUpload: { Parts: parts.map(([PartNumber, ETag]) => ({ PartNumber, ETag })) },
      }),
    );
  }

  listParts(client = this.target.client): Promise<ListPartsCommandOutput> {
    return client.send(
      new ListPartsCommand({ Bucket: this.target.bucket, Key: this.key, UploadId: this.uploadId }),
    );
  }
}

describe('an upload with @aws-sdk/lib-storage (5 MiB parts, 4 at a time)', () => {
  const key = 'lib/big.bin';
  const size = 23 * MiB + 12345;
  const body = numbered(size);
  let etag: string | undefined;
  beforeAll(async () => {
    const upload = new Upload({
      client: stack.client,
      params: { Bucket: stack.bucket, Key: key, Body: body, ContentType: 'application/x-big' },
      partSize: 5 * MiB,
      queueSize: 4,
    });
    etag = (await upload.done()).ETag;
  });

  it('reads back whole, with its plaintext size and the ETag Complete returned', async () => {
    const out = await get(stack.client, stack.bucket, key);
    expect(out.length).toBe(size);
    expect(out.body.equals(body)).toBe(true);
    expect(out.etag).toBe(etag);
    expect(etag).toMatch(/-5"$/);
    const head = await stack.client.send(new HeadObjectCommand({ Bucket: stack.bucket, Key: key }));
    expect(head.ContentLength).toBe(size);
    expect(head.ETag).toBe(etag);
    expect(head.ContentType).toBe('application/x-big');
  });

  it('reads ranges across part boundaries and starting inside later parts', async () => {
    const P = 5 * MiB;
    const ranges: [number, number][] = [
      [0, 0],
      [P - 10, P + 10],
      [P - 1, P],
      [2 * P + 1000, 2 * P + 1000],
      [3 * P + 65536 * 3 + 7, 4 * P + 100],
      [4 * P + 1, size - 1],
      [size - 1, size - 1],
      [123, 3 * P + 5],
    ];
    for (let i = 0; i < 8; i++) {
      const start = Math.floor(Math.random() * size);
      ranges.push([start, Math.min(size - 1, start + Math.floor(Math.random() * 2 * P))]);
    }
    for (const [start, end] of ranges) {
      const out = await get(stack.client, stack.bucket, key, { Range: `bytes=${start}-${end}` });
      expect([start, end, out.body.equals(body.subarray(start, end + 1))]).toEqual([start, end, true]);
      expect(out.contentRange).toBe(`bytes ${start}-${end}/${size}`);
    }
    const suffix = await get(stack.client, stack.bucket, key, { Range: 'bytes=-70000' });
    expect(suffix.body.equals(body.subarray(size - 70000))).toBe(true);
  });

  it('reads one part with ?partNumber, as S3 does', async () => {
    for (const n of [1, 3, 5]) {
      const out = await get(stack.client, stack.bucket, key, { PartNumber: n });
      const start = (n - 1) * 5 * MiB;
      const end = Math.min(size, n * 5 * MiB) - 1;
      expect(out.body.equals(body.subarray(start, end + 1))).toBe(true);
      expect(out.partsCount).toBe(5);
      expect(out.contentRange).toBe(`bytes ${start}-${end}/${size}`);
    }
    const head = await stack.client.send(
      new HeadObjectCommand({ Bucket: stack.bucket, Key: key, PartNumber: 2 }),
    );
    expect(head.ContentLength).toBe(5 * MiB);
    expect(head.PartsCount).toBe(5);
    expect((await s3Error(get(stack.client, stack.bucket, key, { PartNumber: 6 }))).status).toBe(416);
  });

  it('lists its plaintext size', async () => {
    const listed = await stack.client.send(new ListObjectsV2Command({ Bucket: stack.bucket, Prefix: key }));
    expect(listed.Contents?.map((o) => o.Size)).toEqual([size]);
  });

  it('stores only ciphertext, with the s3seal metadata', async () => {
    await expectCiphertextAtRest(stack, key, body);
    const raw = await readRaw(stack, key);
    expect(raw.metadata['s3seal-layout']).toBe('multipart');
    expect(raw.body.subarray(0, 4).toString('latin1')).toBe('S3SL');
  });

  it('still reads fully and ranged once Valkey forgot everything (FLUSHALL)', async () => {
    const redis = new Redis(stack.valkey!.url);
    try {
      await redis.flushall();
    } finally {
      redis.disconnect();
    }
    expect((await get(stack.client, stack.bucket, key)).body.equals(body)).toBe(true);
    const out = await get(stack.client, stack.bucket, key, { Range: `bytes=${11 * MiB}-${16 * MiB}` });
    expect(out.body.equals(body.subarray(11 * MiB, 16 * MiB + 1))).toBe(true);
  });
});

describe('CompleteMultipartUpload', () => {
  const five = (from: number): Buffer => numbered(5 * MiB, from);

  it('uses a retried part, with different bytes, under its second ETag', async () => {
    const mp = await new Multipart('complete/retried').create();
    const first = five(0);
    const second = five(1_000_000);
    const etag1 = await mp.part(1, first);
    const etag2 = await mp.part(1, second);
    expect(etag1).toBe(md5(first));
    expect(etag2).toBe(md5(second));
    const tail = numbered(1000, 7);
    const etag3 = await mp.part(2, tail);
    expect(
      (
        await s3Error(
          mp.complete([
            [1, etag1],
            [2, etag3],
          ]),
        )
      ).name,
    ).toBe('InvalidPart');
    await mp.complete([
      [1, etag2],
      [2, etag3],
    ]);
    const out = await get(stack.client, stack.bucket, mp.key);
    expect(out.body.equals(Buffer.concat([second, tail]))).toBe(true);
  });

  it('takes parts uploaded out of order (3, 1, 2), completed ascending', async () => {
    const mp = await new Multipart('complete/out-of-order').create();
    const parts = [five(0), five(400_000), numbered(333, 900_000)];
    const etags = new Map<number, string>();
    for (const n of [3, 1, 2]) etags.set(n, await mp.part(n, parts[n - 1]!));
    await mp.complete([1, 2, 3].map((n) => [n, etags.get(n)!]));
    expect((await get(stack.client, stack.bucket, mp.key)).body.equals(Buffer.concat(parts))).toBe(true);
    const head = await stack.client.send(new HeadObjectCommand({ Bucket: stack.bucket, Key: mp.key }));
    expect(head.ContentType).toBe('x/test');
  });

  it('refuses parts out of order, unknown ETags and small parts that are not the last', async () => {
    const mp = await new Multipart('complete/refused').create();
    const small = numbered(100);
    const e1 = await mp.part(1, small);
    const e2 = await mp.part(2, five(0));
    expect(
      await s3Error(
        mp.complete([
          [2, e2],
          [1, e1],
        ]),
      ),
    ).toEqual({ name: 'InvalidPartOrder', status: 400 });
    expect(await s3Error(mp.complete([[1, md5(Buffer.from('other'))]]))).toEqual({
      name: 'InvalidPart',
      status: 400,
    });
    expect(
      await s3Error(
        mp.complete([
          [1, e1],
          [2, e2],
        ]),
      ),
    ).toEqual({ name: 'EntityTooSmall', status: 400 });
    // Nothing was completed: the small part alone is a valid (last and only) part.
    await mp.complete([[1, e1]]);
    expect((await get(stack.client, stack.bucket, mp.key)).body.equals(small)).toBe(true);
  });

  it('refuses part numbers outside 1..10000 and unknown uploads', async () => {
    const mp = await new Multipart('complete/numbers').create();
    expect((await s3Error(mp.part(10001, Buffer.from('x')))).name).toBe('InvalidArgument');
    const unknown = new Multipart('complete/numbers');
    unknown.uploadId = 'not-an-upload';
    expect(await s3Error(unknown.part(1, Buffer.from('x')))).toEqual({ name: 'NoSuchUpload', status: 404 });
  });
});

describe('ListParts and AbortMultipartUpload', () => {
  it('lists plaintext sizes and the ETags the client got', async () => {
    const mp = await new Multipart('parts/listed').create();
    const a = numbered(5 * MiB + 3);
    const b = numbered(4567, 1);
    const etags = [await mp.part(1, a), await mp.part(2, b)];
    const listed = await mp.listParts();
    expect(listed.Parts?.map((p) => [p.PartNumber, p.Size, p.ETag])).toEqual([
      [1, a.length, etags[0]],
      [2, b.length, etags[1]],
    ]);
  });

  it('aborts: the state goes, later calls get NoSuchUpload', async () => {
    const mp = await new Multipart('parts/aborted').create();
    await mp.part(1, numbered(1000));
    await stack.client.send(
      new AbortMultipartUploadCommand({ Bucket: stack.bucket, Key: mp.key, UploadId: mp.uploadId }),
    );
    expect((await s3Error(mp.listParts())).name).toBe('NoSuchUpload');
    expect((await s3Error(mp.part(2, numbered(10)))).name).toBe('NoSuchUpload');
    const redis = new Redis(stack.valkey!.url);
    try {
      expect(await redis.exists(`s3seal:mpu:{${mp.uploadId}}`)).toBe(0);
    } finally {
      redis.disconnect();
    }
  });
});

describe('parts of different sizes', () => {
  it('reads an object whose middle parts differ from part 1 (the guessed layout is corrected)', async () => {
    const sizes = [6 * MiB, 5 * MiB, 7 * MiB, 1000];
    const parts = sizes.map((s, i) => numbered(s, i * 1_000_000));
    const body = Buffer.concat(parts);
    const mp = await new Multipart('uneven/aligned').create();
    const etags: [number, string][] = [];
    for (const [i, part] of parts.entries()) etags.push([i + 1, await mp.part(i + 1, part)]);
    await mp.complete(etags);
    // A fresh proxy has no layout cached: its first whole read meets part 2's end mid-stream.
    const fresh = await startStack({ minio, keyringDir: stack.keyringDir });
    try {
      const head = await fresh.client.send(new HeadObjectCommand({ Bucket: stack.bucket, Key: mp.key }));
      expect(head.ContentLength).toBe(body.length);
      expect((await get(fresh.client, stack.bucket, mp.key)).body.equals(body)).toBe(true);
      const start = 11 * MiB + 5;
      const out = await get(fresh.client, stack.bucket, mp.key, { Range: `bytes=${start}-${start + 99}` });
      expect(out.body.equals(body.subarray(start, start + 100))).toBe(true);
      const part2 = await get(fresh.client, stack.bucket, mp.key, { PartNumber: 2 });
      expect(part2.body.equals(parts[1]!)).toBe(true);
    } finally {
      await fresh.stop();
    }
    // And a range read first, on another fresh proxy: corrected before any byte is sent.
    const other = await startStack({ minio, keyringDir: stack.keyringDir });
    try {
      const start = 12 * MiB;
      const out = await get(other.client, stack.bucket, mp.key, { Range: `bytes=${start}-${start + 9}` });
      expect(out.body.equals(body.subarray(start, start + 10))).toBe(true);
    } finally {
      await other.stop();
    }
  });

  it('reads parts that are not whole chunks, of different sizes', async () => {
    const sizes = [5 * MiB + 1000, 5 * MiB + 77, 100];
    const parts = sizes.map((s, i) => numbered(s, i * 1_000_000));
    const mp = await new Multipart('uneven/unaligned').create();
    const etags: [number, string][] = [];
    for (const [i, part] of parts.entries()) etags.push([i + 1, await mp.part(i + 1, part)]);
    await mp.complete(etags);
    const body = Buffer.concat(parts);
    const head = await stack.client.send(new HeadObjectCommand({ Bucket: stack.bucket, Key: mp.key }));
    expect(head.ContentLength).toBe(body.length);
    expect((await get(stack.client, stack.bucket, mp.key)).body.equals(body)).toBe(true);
  });
});

describe('copies', () => {
  it('UploadPartCopy seals a range of an encrypted object (single PUT and multipart) as a part', async () => {
    const single = numbered(7 * MiB, 5_000_000);
    await stack.client.send(
      new PutObjectCommand({ Bucket: stack.bucket, Key: 'copy/src-single', Body: single }),
    );
    const multipart = numbered(11 * MiB, 7_000_000);
    const src = await new Multipart('copy/src-multipart').create();
    await src.complete([
      [1, await src.part(1, multipart.subarray(0, 5 * MiB))],
      [2, await src.part(2, multipart.subarray(5 * MiB, 10 * MiB))],
      [3, await src.part(3, multipart.subarray(10 * MiB))],
    ]);

    const mp = await new Multipart('copy/assembled').create();
    const copied1 = await stack.client.send(
      new UploadPartCopyCommand({
        Bucket: stack.bucket,
        Key: mp.key,
        UploadId: mp.uploadId,
        PartNumber: 1,
        CopySource: `${stack.bucket}/copy/src-single`,
        CopySourceRange: `bytes=${MiB + 3}-${7 * MiB - 1}`,
      }),
    );
    const range2 = [4 * MiB + 17, 10 * MiB + 100] as const;
    const copied2 = await stack.client.send(
      new UploadPartCopyCommand({
        Bucket: stack.bucket,
        Key: mp.key,
        UploadId: mp.uploadId,
        PartNumber: 2,
        CopySource: `${stack.bucket}/copy/src-multipart`,
        CopySourceRange: `bytes=${range2[0]}-${range2[1]}`,
      }),
    );
    const expected1 = single.subarray(MiB + 3);
    const expected2 = multipart.subarray(range2[0], range2[1] + 1);
    expect(copied1.CopyPartResult?.ETag).toBe(md5(expected1));
    expect(copied2.CopyPartResult?.ETag).toBe(md5(expected2));
    const outOfRange = await s3Error(
      stack.client.send(
        new UploadPartCopyCommand({
          Bucket: stack.bucket,
          Key: mp.key,
          UploadId: mp.uploadId,
          PartNumber: 3,
          CopySource: `${stack.bucket}/copy/src-single`,
          CopySourceRange: `bytes=0-${7 * MiB}`,
        }),
      ),
    );
    expect(outOfRange.name).toBe('InvalidArgument');
    await mp.complete([
      [1, copied1.CopyPartResult!.ETag!],
      [2, copied2.CopyPartResult!.ETag!],
    ]);
    const out = await get(stack.client, stack.bucket, mp.key);
    expect(out.body.equals(Buffer.concat([expected1, expected2]))).toBe(true);
    await expectCiphertextAtRest(stack, mp.key, out.body);
  });

  it('CopyObject of a multipart object makes a readable (single-part) copy', async () => {
    const body = numbered(10 * MiB + 5, 3_000_000);
    const src = await new Multipart('copy/mp-src').create();
    await src.complete([
      [1, await src.part(1, body.subarray(0, 5 * MiB))],
      [2, await src.part(2, body.subarray(5 * MiB))],
    ]);
    await stack.client.send(
      new CopyObjectCommand({
        Bucket: stack.bucket,
        Key: 'copy/mp-dst',
        CopySource: `${stack.bucket}/copy/mp-src`,
      }),
    );
    const out = await get(stack.client, stack.bucket, 'copy/mp-dst');
    expect(out.body.equals(body)).toBe(true);
    // Sealed anew as a single PUT: a server-side copy would have kept the multipart layout.
    const stored = await stack.raw.send(new HeadObjectCommand({ Bucket: stack.bucket, Key: 'copy/mp-dst' }));
    expect(stored.Metadata?.['s3seal-layout']).toBe('single');
    const head = await stack.client.send(new HeadObjectCommand({ Bucket: stack.bucket, Key: 'copy/mp-dst' }));
    expect(head.ContentLength).toBe(body.length);
    expect(head.ContentType).toBe('x/test');
    await expectCiphertextAtRest(stack, 'copy/mp-dst', body);
  });
});

describe('two proxies sharing one Valkey', () => {
  it('take alternate parts of one upload', async () => {
    const second = await startStack({ minio, valkey: stack.valkey, keyringDir: stack.keyringDir });
    try {
      const parts = [0, 1, 2, 3].map((i) => numbered(i === 3 ? 999 : 5 * MiB, i * 1_000_000));
      const mp = await new Multipart('shared/alternate').create(second.client);
      const etags: [number, string][] = [];
      for (const [i, part] of parts.entries()) {
        etags.push([i + 1, await mp.part(i + 1, part, i % 2 === 0 ? stack.client : second.client)]);
      }
      await mp.complete(etags, second.client);
      const out = await get(stack.client, stack.bucket, mp.key);
      expect(out.body.equals(Buffer.concat(parts))).toBe(true);
    } finally {
      await second.stop();
    }
  });
});

describe('Valkey unavailable', () => {
  it('fails UploadPart with 503 while Valkey is down, and takes the retry once it is back', async () => {
    let valkey: ValkeyServer = await startValkey({ allowExternal: false });
    const own = await startStack({ minio, valkey, keyringDir: stack.keyringDir });
    const once = new S3Client({
      endpoint: own.proxy.url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey },
      maxAttempts: 1,
    });
    try {
      const mp = await new Multipart('down/upload', own).create();
      const part1 = numbered(5 * MiB);
      const part2 = numbered(1234, 1);
      const etag1 = await mp.part(1, part1);
      // A Valkey with its data (persistence, or a replica taking over): the state survives.
      const stateKey = `s3seal:mpu:{${mp.uploadId}}`;
      let redis = new Redis(valkey.url);
      const dumped = await redis.dumpBuffer(stateKey);
      redis.disconnect();
      await valkey.stop();

      expect(await s3Error(mp.part(2, part2, once))).toEqual({ name: 'ServiceUnavailable', status: 503 });
      expect((await s3Error(mp.complete([[1, etag1]], once))).status).toBe(503);

      valkey = await startValkey({ port: valkey.port });
      redis = new Redis(valkey.url);
      await redis.restore(stateKey, 0, dumped);
      redis.disconnect();
      let etag2: string | undefined;
      for (let attempt = 0; etag2 === undefined; attempt++) {
        try {
          etag2 = await mp.part(2, part2, once);
        } catch (err: unknown) {
          if (attempt > 50 || !(err instanceof S3ServiceException) || err.$metadata.httpStatusCode !== 503)
            throw err;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
      await mp.complete([
        [1, etag1],
        [2, etag2],
      ]);
      const out = await get(own.client, own.bucket, mp.key);
      expect(out.body.equals(Buffer.concat([part1, part2]))).toBe(true);
    } finally {
      once.destroy();
      await own.stop();
      await valkey.stop();
    }
  });

  it('refuses to start when Valkey does not answer and S3SEAL_VALKEY_REQUIRED=true', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    await expect(startStack({ minio, env: { S3SEAL_VALKEY_URL: url } })).rejects.toMatchObject({
      code: 'S3SEAL_VALKEY_UNAVAILABLE',
      message: expect.stringMatching(/Valkey.*S3SEAL_VALKEY_REQUIRED/s),
    });
  });

  it('starts without Valkey when not required, and answers multipart calls 503', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const own = await startStack({ minio, env: { S3SEAL_VALKEY_URL: url, S3SEAL_VALKEY_REQUIRED: 'false' } });
    const once = new S3Client({
      endpoint: own.proxy.url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey },
      maxAttempts: 1,
    });
    try {
      const err = await s3Error(new Multipart('down/never', own).create(once));
      expect(err).toEqual({ name: 'ServiceUnavailable', status: 503 });
      await once.send(new PutObjectCommand({ Bucket: own.bucket, Key: 'down/single', Body: 'still fine' }));
    } finally {
      once.destroy();
      await own.stop();
    }
  });

  it('refuses multipart with NotImplemented when S3SEAL_MULTIPART=refuse', async () => {
    const own = await startStack({
      minio,
      env: { S3SEAL_VALKEY_URL: stack.valkey!.url, S3SEAL_MULTIPART: 'refuse' },
    });
    try {
      expect(await s3Error(new Multipart('refused/x', own).create())).toEqual({
        name: 'NotImplemented',
        status: 501,
      });
    } finally {
      await own.stop();
    }
  });
});

describe('tampering', () => {
  it('refuses a multipart object whose parts were reordered in the backend', async () => {
    const parts = [numbered(5 * MiB), numbered(5 * MiB, 1_000_000)];
    const mp = await new Multipart('tamper/reordered').create();
    await mp.complete([
      [1, await mp.part(1, parts[0]!)],
      [2, await mp.part(2, parts[1]!)],
    ]);
    // Rebuild the object around the proxy from its own parts, swapped, keeping its metadata.
    const raw = await readRaw(stack, mp.key);
    const P = raw.body.length / 2;
    await stack.raw.send(
      new PutObjectCommand({
        Bucket: stack.bucket,
        Key: mp.key,
        Body: Buffer.concat([raw.body.subarray(P), raw.body.subarray(0, P)]),
        Metadata: raw.metadata,
      }),
    );
    await expect(get(stack.client, stack.bucket, mp.key)).rejects.toThrow();
  });
});
