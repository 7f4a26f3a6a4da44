// The proxy's options and per-call behaviour (packages/proxy/README.md) against a real MinIO:
// legacy objects, encrypted and pass-through buckets, the PUT size cap, client credential
// files, virtual-hosted addressing, versioning, response overrides, conditional reads,
// aborted uploads, altered stored objects, and the compiled proxy as a process.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { lookup as dnsLookup } from 'node:dns';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { Agent, request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { GetObjectCommandInput, PutObjectCommandInput } from '@aws-sdk/client-s3';
import { startMinio } from '@s3seal/testkit';
import type { MinioServer } from '@s3seal/testkit';
import aws4 from 'aws4';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { expectCiphertextAtRest, readRaw, recognisable, startStack } from '../helpers/stack.js';
import type { Stack, StackOptions } from '../helpers/stack.js';
import { s3Error } from '../helpers/s3-error.js';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

// One MinIO for the file; each describe that needs other proxy options gets its own proxy.
let minio: MinioServer;
beforeAll(async () => {
  minio = await startMinio();
});
afterAll(async () => {
  await minio?.stop();
});

/** A stack for the enclosing describe: started in its beforeAll, stopped in its afterAll. */
function useStack(options: Omit<StackOptions, 'minio'> = {}): () => Stack {
  let stack: Stack | undefined;
  beforeAll(async () => {
    stack = await startStack({ ...options, minio });
  });
  afterAll(async () => {
    await stack?.stop();
  });
  return () => stack!;
}

// ---- helpers --------------------------------------------------------------------------------

/**
 * The status of a failure without a body: a HEAD answer, or a 304 (RFC 9110 §15.4.5). No
 * S3 error code travels, so the status is all a client (and this test) can compare.
 */
async function statusOnly(promise: Promise<unknown>): Promise<number | undefined> {
  return (await s3Error(promise)).status;
}

async function put(
  client: S3Client,
  bucket: string,
  key: string,
  body: Buffer,
  extra: Partial<PutObjectCommandInput> = {},
): Promise<{ etag: string; versionId: string | undefined }> {
  const out = await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...extra }));
  return { etag: out.ETag ?? '', versionId: out.VersionId };
}

async function get(
  client: S3Client,
  bucket: string,
  key: string,
  extra: Partial<GetObjectCommandInput> = {},
): Promise<{ body: Buffer; contentType?: string; contentDisposition?: string; contentRange?: string }> {
  const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...extra }));
  return {
    body: Buffer.from(await out.Body!.transformToByteArray()),
    contentType: out.ContentType,
    contentDisposition: out.ContentDisposition,
    contentRange: out.ContentRange,
  };
}

/** Asserts MinIO holds nothing under the key. */
async function expectNotStored(stack: Stack, key: string, bucket = stack.bucket): Promise<void> {
  const status = await statusOnly(stack.raw.send(new HeadObjectCommand({ Bucket: bucket, Key: key })));
  expect([key, status]).toEqual([key, 404]);
}

function clientFor(
  endpoint: string,
  accessKeyId: string,
  secretAccessKey: string,
  extra: Partial<ConstructorParameters<typeof S3Client>[0]> = {},
): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    maxAttempts: 1,
    credentials: { accessKeyId, secretAccessKey },
    ...extra,
  });
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** One request with node:http, to 127.0.0.1:port, with exactly these headers (Host included). */
function send(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Headers of a request signed with aws4 (header auth, payload hash signed) for `host`. */
function signedHeaders(
  stack: Stack,
  host: string,
  method: string,
  path: string,
  body?: Buffer,
): Record<string, string> {
  const signed = aws4.sign(
    {
      host,
      method,
      path,
      service: 's3',
      region: 'us-east-1',
      headers: {
        'x-amz-content-sha256': sha256(body ?? Buffer.alloc(0)),
        ...(body ? { 'content-length': String(body.length) } : {}),
      },
    },
    { accessKeyId: stack.minio.accessKeyId, secretAccessKey: stack.minio.secretAccessKey },
  );
  return signed.headers as Record<string, string>;
}

/** The text of an S3 XML error document's <Code>. */
function xmlCode(body: Buffer): string | undefined {
  return /<Code>([^<]+)<\/Code>/.exec(body.toString('utf8'))?.[1];
}

/** A pino logger whose lines the test can wait for (e.g. the end of a request). */
function capturingLog(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done): void {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'info' }, sink), lines };
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// ---- 1. legacy objects --------------------------------------------------------------------------

describe('S3SEAL_LEGACY=passthrough', () => {
  const stack = useStack({ env: { S3SEAL_LEGACY: 'passthrough' } });
  // 65540 bytes: a bounded range in its last 16 bytes lies past the covering range the proxy
  // would ask for an encrypted object of that size.
  const legacy = recognisable(65_540, 'written around the proxy, before s3seal; ');
  let legacyEtag: string;
  beforeAll(async () => {
    const out = await stack().raw.send(
      new PutObjectCommand({
        Bucket: stack().bucket,
        Key: 'legacy/plain.txt',
        Body: legacy,
        ContentType: 'text/plain',
      }),
    );
    legacyEtag = out.ETag!;
  });

  it('serves an object without s3seal metadata as stored, whole and ranged', async () => {
    const { client, bucket } = stack();
    const whole = await get(client, bucket, 'legacy/plain.txt');
    expect(whole.body.equals(legacy)).toBe(true);
    expect(whole.contentType).toBe('text/plain');
    for (const [range, start, end] of [
      ['bytes=0-99', 0, 99],
      ['bytes=1000-70000', 1000, 65_539],
      ['bytes=65537-65539', 65_537, 65_539],
      ['bytes=-10', 65_530, 65_539],
      ['bytes=65530-', 65_530, 65_539],
    ] as const) {
      const part = await get(client, bucket, 'legacy/plain.txt', { Range: range });
      expect([range, part.body.equals(legacy.subarray(start, end + 1))]).toEqual([range, true]);
      expect(part.contentRange).toBe(`bytes ${start}-${end}/${legacy.length}`);
    }
    expect(await s3Error(get(client, bucket, 'legacy/plain.txt', { Range: 'bytes=65540-' }))).toEqual({
      name: 'InvalidRange',
      status: 416,
    });
  });

  it('answers HEAD with the stored size and ETag, and honours its conditions and Range', async () => {
    const { client, bucket } = stack();
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'legacy/plain.txt' }));
    expect(head.ContentLength).toBe(legacy.length);
    expect(head.ETag).toBe(legacyEtag);
    expect(
      await statusOnly(
        client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'legacy/plain.txt', IfMatch: '"nope"' })),
      ),
    ).toBe(412);
    expect(
      await statusOnly(
        client.send(
          new HeadObjectCommand({ Bucket: bucket, Key: 'legacy/plain.txt', IfNoneMatch: legacyEtag }),
        ),
      ),
    ).toBe(304);
    const ranged = await client.send(
      new HeadObjectCommand({ Bucket: bucket, Key: 'legacy/plain.txt', Range: 'bytes=0-9' }),
    );
    expect(ranged.ContentLength).toBe(10);
    expect(ranged.ContentRange).toBe(`bytes 0-9/${legacy.length}`);
  });

  it('still encrypts new objects and decrypts them', async () => {
    const { client, bucket } = stack();
    const body = recognisable(150_000);
    await put(client, bucket, 'legacy/new', body);
    await expectCiphertextAtRest(stack(), 'legacy/new', body);
    expect((await get(client, bucket, 'legacy/new')).body.equals(body)).toBe(true);
    expect((await get(client, bucket, 'legacy/new', { Range: 'bytes=65530-65600' })).body).toEqual(
      body.subarray(65_530, 65_601),
    );
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'legacy/new' }));
    expect(head.ContentLength).toBe(body.length);
  });
});

// ---- 2. encrypted and other buckets -----------------------------------------------------------

/** Creates a bucket on MinIO directly; its name says whether S3SEAL_BUCKETS=enc-* covers it. */
async function createBucket(stack: Stack, prefix: 'enc' | 'plain'): Promise<string> {
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  await stack.raw.send(new CreateBucketCommand({ Bucket: name }));
  return name;
}

describe('S3SEAL_BUCKETS=enc-* with S3SEAL_OTHER_BUCKETS=reject', () => {
  const stack = useStack({ env: { S3SEAL_BUCKETS: 'enc-*', S3SEAL_OTHER_BUCKETS: 'reject' } });
  let enc: string;
  let other: string;
  beforeAll(async () => {
    enc = await createBucket(stack(), 'enc');
    other = await createBucket(stack(), 'plain');
  });

  it('encrypts in a matching bucket', async () => {
    const body = recognisable(80_000);
    await put(stack().client, enc, 'a', body);
    await expectCiphertextAtRest(stack(), 'a', body, enc);
    expect((await get(stack().client, enc, 'a')).body.equals(body)).toBe(true);
  });

  it('refuses every call on another bucket with AccessDenied and writes nothing', async () => {
    const { client } = stack();
    const denied = { name: 'AccessDenied', status: 403 };
    expect(await s3Error(put(client, other, 'x', recognisable(1000)))).toEqual(denied);
    await expectNotStored(stack(), 'x', other);
    await stack().raw.send(new PutObjectCommand({ Bucket: other, Key: 'there', Body: 'plaintext' }));
    expect(await s3Error(get(client, other, 'there'))).toEqual(denied);
    expect(await s3Error(client.send(new ListObjectsV2Command({ Bucket: other })))).toEqual(denied);
    expect(await s3Error(client.send(new DeleteObjectCommand({ Bucket: other, Key: 'there' })))).toEqual(
      denied,
    );
    expect((await readRaw(stack(), 'there', other)).body.toString()).toBe('plaintext');
  });

  it('refuses a copy out of a refused bucket into an encrypted one', async () => {
    const { client } = stack();
    await stack().raw.send(new PutObjectCommand({ Bucket: other, Key: 'secret', Body: 'not for you' }));
    const err = await s3Error(
      client.send(new CopyObjectCommand({ Bucket: enc, Key: 'stolen', CopySource: `${other}/secret` })),
    );
    expect(err).toEqual({ name: 'AccessDenied', status: 403 });
    await expectNotStored(stack(), 'stolen', enc);
  });
});

describe('S3SEAL_BUCKETS=enc-* with S3SEAL_OTHER_BUCKETS=passthrough', () => {
  const stack = useStack({ env: { S3SEAL_BUCKETS: 'enc-*', S3SEAL_OTHER_BUCKETS: 'passthrough' } });
  let enc: string;
  let plain: string;
  beforeAll(async () => {
    enc = await createBucket(stack(), 'enc');
    plain = await createBucket(stack(), 'plain');
  });

  it('stores a PUT to another bucket as sent and serves it back', async () => {
    const { client } = stack();
    const body = recognisable(100_000);
    const { etag } = await put(client, plain, 'doc.txt', body, { Metadata: { owner: 'bob' } });
    const raw = await readRaw(stack(), 'doc.txt', plain);
    expect(raw.body.equals(body)).toBe(true);
    expect(raw.metadata).toEqual({ owner: 'bob' });
    expect(etag).toBe(`"${createHash('md5').update(body).digest('hex')}"`);
    expect((await get(client, plain, 'doc.txt')).body.equals(body)).toBe(true);
    expect((await get(client, plain, 'doc.txt', { Range: 'bytes=10-19' })).body).toEqual(
      body.subarray(10, 20),
    );
  });

  it('leaves listings of another bucket untouched', async () => {
    const { client, raw } = stack();
    for (const size of [1, 20, 65_552, 70_000]) await put(client, plain, `list/${size}`, recognisable(size));
    const through = await client.send(new ListObjectsV2Command({ Bucket: plain, Prefix: 'list/' }));
    const direct = await raw.send(new ListObjectsV2Command({ Bucket: plain, Prefix: 'list/' }));
    const sizes = (out: typeof through): [string | undefined, number | undefined][] =>
      (out.Contents ?? []).map((o) => [o.Key, o.Size]);
    expect(sizes(through)).toEqual(sizes(direct));
    expect(new Map(sizes(through))).toEqual(
      new Map([1, 20, 65_552, 70_000].map((s) => [`list/${s}`, s] as const)),
    );
  });

  it('refuses to copy an encrypted object into a pass-through bucket', async () => {
    const { client } = stack();
    await put(client, enc, 'sealed', recognisable(5000));
    const err = await s3Error(
      client.send(new CopyObjectCommand({ Bucket: plain, Key: 'unsealed', CopySource: `${enc}/sealed` })),
    );
    expect(err).toEqual({ name: 'AccessDenied', status: 403 });
    await expectNotStored(stack(), 'unsealed', plain);
  });

  it('encrypts a copy from a pass-through bucket into an encrypted one', async () => {
    const { client } = stack();
    const body = recognisable(200_000);
    await put(client, plain, 'to-seal', body, { ContentType: 'text/plain' });
    await client.send(
      new CopyObjectCommand({ Bucket: enc, Key: 'sealed-copy', CopySource: `${plain}/to-seal` }),
    );
    await expectCiphertextAtRest(stack(), 'sealed-copy', body, enc);
    const back = await get(client, enc, 'sealed-copy');
    expect(back.body.equals(body)).toBe(true);
    expect(back.contentType).toBe('text/plain');
    const head = await client.send(new HeadObjectCommand({ Bucket: enc, Key: 'sealed-copy' }));
    expect(head.ContentLength).toBe(body.length);
  });
});

// ---- 3. the PUT size cap ----------------------------------------------------------------------

describe('S3SEAL_MAX_PUT_BYTES=100000', () => {
  const stack = useStack({ env: { S3SEAL_MAX_PUT_BYTES: '100000' } });

  it('refuses one byte more with EntityTooLarge and stores nothing', async () => {
    const { client, bucket } = stack();
    expect(await s3Error(put(client, bucket, 'big', recognisable(100_001)))).toEqual({
      name: 'EntityTooLarge',
      status: 400,
    });
    await expectNotStored(stack(), 'big');
  });

  it('takes exactly the limit', async () => {
    const { client, bucket } = stack();
    const body = recognisable(100_000);
    await put(client, bucket, 'limit', body);
    await expectCiphertextAtRest(stack(), 'limit', body);
    expect((await get(client, bucket, 'limit')).body.equals(body)).toBe(true);
  });
});

// ---- 4. client credentials file ---------------------------------------------------------------

describe('S3SEAL_CLIENT_CREDENTIALS_FILE', () => {
  const file = join(tmpdir(), `s3seal-clients-${randomBytes(6).toString('hex')}.yaml`);
  const appOne = { accessKeyId: 'app-one', secretAccessKey: randomBytes(20).toString('hex') };
  const appTwo = { accessKeyId: 'app-two', secretAccessKey: randomBytes(20).toString('hex') };
  const yamlOf = (pairs: { accessKeyId: string; secretAccessKey: string }[]): string =>
    pairs.map((p) => `- accessKeyId: ${p.accessKeyId}\n  secretAccessKey: '${p.secretAccessKey}'\n`).join('');
  beforeAll(async () => {
    await writeFile(file, yamlOf([appOne]));
  });
  afterAll(async () => {
    await rm(file, { force: true });
  });
  const stack = useStack({ env: { S3SEAL_CLIENT_CREDENTIALS_FILE: file } });
  const clients: S3Client[] = [];
  const as = (pair: { accessKeyId: string; secretAccessKey: string }): S3Client => {
    const client = clientFor(stack().proxy.url, pair.accessKeyId, pair.secretAccessKey);
    clients.push(client);
    return client;
  };
  afterAll(() => {
    for (const client of clients) client.destroy();
  });

  it('lets a listed pair in and refuses the upstream pair that is not listed', async () => {
    const body = recognisable(70_000);
    await put(as(appOne), stack().bucket, 'creds/one', body);
    await expectCiphertextAtRest(stack(), 'creds/one', body);
    expect((await get(as(appOne), stack().bucket, 'creds/one')).body.equals(body)).toBe(true);
    expect(await s3Error(get(stack().client, stack().bucket, 'creds/one'))).toEqual({
      name: 'InvalidAccessKeyId',
      status: 403,
    });
    expect(await s3Error(get(as(appTwo), stack().bucket, 'creds/one'))).toEqual({
      name: 'InvalidAccessKeyId',
      status: 403,
    });
  });

  it('re-reads the file when it changes, without a restart', async () => {
    const upstreamPair = {
      accessKeyId: stack().minio.accessKeyId,
      secretAccessKey: stack().minio.secretAccessKey,
    };
    await writeFile(file, yamlOf([appOne, appTwo, upstreamPair]));
    // A distinct mtime even on file systems with coarse timestamps.
    const later = new Date(Date.now() + 5000);
    await utimes(file, later, later);
    const body = recognisable(1000);
    await put(as(appTwo), stack().bucket, 'creds/two', body);
    await expectCiphertextAtRest(stack(), 'creds/two', body);
    expect((await get(as(appTwo), stack().bucket, 'creds/two')).body.equals(body)).toBe(true);
    expect((await get(stack().client, stack().bucket, 'creds/two')).body.equals(body)).toBe(true);
    expect((await get(as(appOne), stack().bucket, 'creds/one')).body.length).toBe(70_000);
  });

  it('keeps the last good credentials when the file turns invalid', async () => {
    await writeFile(file, 'this: [is not, a list');
    const later = new Date(Date.now() + 10_000);
    await utimes(file, later, later);
    expect((await get(as(appOne), stack().bucket, 'creds/one')).body.length).toBe(70_000);
  });
});

// ---- 1 (reject), 5-11: default options ---------------------------------------------------------

describe('with default options', () => {
  const { log, lines } = capturingLog();
  const stack = useStack({ log });

  // ---- 1. legacy objects, refused by default
  describe('S3SEAL_LEGACY=reject (the default)', () => {
    it('refuses GET and HEAD of an object without s3seal metadata with ObjectNotEncrypted', async () => {
      const { client, raw, bucket } = stack();
      await raw.send(new PutObjectCommand({ Bucket: bucket, Key: 'legacy/plain', Body: 'plaintext' }));
      expect(await s3Error(get(client, bucket, 'legacy/plain'))).toEqual({
        name: 'ObjectNotEncrypted',
        status: 403,
      });
      expect(await s3Error(get(client, bucket, 'legacy/plain', { Range: 'bytes=0-3' }))).toEqual({
        name: 'ObjectNotEncrypted',
        status: 403,
      });
      expect(
        await statusOnly(client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'legacy/plain' }))),
      ).toBe(403);
    });
  });

  // ---- 5. virtual-hosted style
  describe('virtual-hosted-style requests', () => {
    /** Resolves *.localhost to loopback, as browsers and systemd-resolved do (glibc here does not). */
    function localhostLookup(
      hostname: string,
      options: LookupOptions,
      callback: (
        err: NodeJS.ErrnoException | null,
        address: string | LookupAddress[],
        family?: number,
      ) => void,
    ): void {
      if (!hostname.endsWith('.localhost')) {
        dnsLookup(hostname, options, callback as never);
        return;
      }
      if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
      else callback(null, '127.0.0.1', 4);
    }

    it('with the AWS SDK (forcePathStyle: false): PUT and GET land in the bucket named by the host', async () => {
      const { proxy, bucket, minio: m } = stack();
      const agent = new Agent({ keepAlive: true, lookup: localhostLookup });
      const client = clientFor(`http://localhost:${proxy.port}`, m.accessKeyId, m.secretAccessKey, {
        forcePathStyle: false,
        requestHandler: { httpAgent: agent },
      });
      try {
        const body = recognisable(90_000);
        await put(client, bucket, 'vhost/sdk', body);
        await expectCiphertextAtRest(stack(), 'vhost/sdk', body, bucket);
        expect((await get(client, bucket, 'vhost/sdk')).body.equals(body)).toBe(true);
        expect((await get(client, bucket, 'vhost/sdk', { Range: 'bytes=5-9' })).body).toEqual(
          body.subarray(5, 10),
        );
      } finally {
        client.destroy();
        agent.destroy();
      }
    });

    it('with a Host: <bucket>.localhost:<port> header signed by aws4', async () => {
      const { proxy, bucket } = stack();
      const host = `${bucket}.localhost:${proxy.port}`;
      const body = recognisable(20_000);
      const written = await send(
        proxy.port,
        'PUT',
        '/vhost/aws4',
        signedHeaders(stack(), host, 'PUT', '/vhost/aws4', body),
        body,
      );
      expect([written.status, xmlCode(written.body)]).toEqual([200, undefined]);
      await expectCiphertextAtRest(stack(), 'vhost/aws4', body, bucket);
      const read = await send(
        proxy.port,
        'GET',
        '/vhost/aws4',
        signedHeaders(stack(), host, 'GET', '/vhost/aws4'),
      );
      expect(read.status).toBe(200);
      expect(read.body.equals(body)).toBe(true);
      // The same key path-style, through the SDK: the same object.
      expect((await get(stack().client, bucket, 'vhost/aws4')).body.equals(body)).toBe(true);
    });
  });

  // ---- 6. versioning
  describe('versioning', () => {
    let bucket: string;
    beforeAll(async () => {
      bucket = `v-${randomBytes(4).toString('hex')}`;
      await stack().client.send(new CreateBucketCommand({ Bucket: bucket }));
      await stack().client.send(
        new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }),
      );
    });

    it('reads old versions, lists plaintext sizes and leaves them readable behind a delete marker', async () => {
      const { client } = stack();
      const first = recognisable(100_000, 'first version of the object; ');
      const second = recognisable(7_000, 'second version, shorter; ');
      const v1 = await put(client, bucket, 'doc', first);
      await expectCiphertextAtRest(stack(), 'doc', first, bucket);
      const v2 = await put(client, bucket, 'doc', second);
      await expectCiphertextAtRest(stack(), 'doc', second, bucket);
      expect(v1.versionId).toBeDefined();
      expect(v2.versionId).toBeDefined();
      expect(v1.versionId).not.toBe(v2.versionId);

      expect((await get(client, bucket, 'doc')).body.equals(second)).toBe(true);
      expect((await get(client, bucket, 'doc', { VersionId: v1.versionId })).body.equals(first)).toBe(true);
      expect((await get(client, bucket, 'doc', { VersionId: v1.versionId, Range: 'bytes=-5' })).body).toEqual(
        first.subarray(-5),
      );
      const head = await client.send(
        new HeadObjectCommand({ Bucket: bucket, Key: 'doc', VersionId: v1.versionId }),
      );
      expect(head.ContentLength).toBe(first.length);

      const listed = await client.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: 'doc' }));
      expect(new Map((listed.Versions ?? []).map((v) => [v.VersionId, v.Size]))).toEqual(
        new Map([
          [v1.versionId, first.length],
          [v2.versionId, second.length],
        ]),
      );

      const deleted = await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'doc' }));
      expect(deleted.DeleteMarker).toBe(true);
      expect(await s3Error(get(client, bucket, 'doc'))).toEqual({ name: 'NoSuchKey', status: 404 });
      expect((await get(client, bucket, 'doc', { VersionId: v1.versionId })).body.equals(first)).toBe(true);
      expect((await get(client, bucket, 'doc', { VersionId: v2.versionId })).body.equals(second)).toBe(true);
      const after = await client.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: 'doc' }));
      expect(after.DeleteMarkers?.map((m) => m.IsLatest)).toEqual([true]);
      expect(after.Versions?.map((v) => v.Size).sort((a, b) => a! - b!)).toEqual([
        second.length,
        first.length,
      ]);
    });
  });

  // ---- 7. response header overrides
  describe('response-* overrides', () => {
    const body = recognisable(70_000);
    beforeAll(async () => {
      await put(stack().client, stack().bucket, 'override/doc', body, { ContentType: 'text/plain' });
      await expectCiphertextAtRest(stack(), 'override/doc', body);
    });

    it('are honoured on a signed GET', async () => {
      const out = await get(stack().client, stack().bucket, 'override/doc', {
        ResponseContentType: 'application/x-override',
        ResponseContentDisposition: 'attachment; filename="report.txt"',
      });
      expect(out.body.equals(body)).toBe(true);
      expect(out.contentType).toBe('application/x-override');
      expect(out.contentDisposition).toBe('attachment; filename="report.txt"');
    });

    it('are honoured on a presigned GET', async () => {
      const { proxy, bucket, minio: m } = stack();
      const query = new URLSearchParams({
        'response-content-type': 'image/png',
        'response-content-disposition': 'inline; filename="x.png"',
        'X-Amz-Expires': '300',
      });
      const signed = aws4.sign(
        {
          host: `127.0.0.1:${proxy.port}`,
          path: `/${bucket}/override/doc?${query.toString().replace(/\+/g, '%20')}`,
          service: 's3',
          region: 'us-east-1',
          signQuery: true,
        },
        { accessKeyId: m.accessKeyId, secretAccessKey: m.secretAccessKey },
      );
      const res = await fetch(`${proxy.url}${signed.path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/png');
      expect(res.headers.get('content-disposition')).toBe('inline; filename="x.png"');
      expect(Buffer.from(await res.arrayBuffer()).equals(body)).toBe(true);
    });
  });

  // ---- 8. conditional reads
  describe('conditional GET and HEAD with the plaintext ETag', () => {
    // Over one chunk, sent with Content-MD5: its ETag is the plaintext MD5 (docs/FORMAT.md §5).
    const body = randomBytes(200_000);
    const etag = `"${createHash('md5').update(body).digest('hex')}"`;
    beforeAll(async () => {
      const contentMd5 = createHash('md5').update(body).digest('base64');
      const written = await put(stack().client, stack().bucket, 'cond/doc', body, { ContentMD5: contentMd5 });
      expect(written.etag).toBe(etag);
      await expectCiphertextAtRest(stack(), 'cond/doc', body);
    });

    const head = (extra: Partial<ConstructorParameters<typeof HeadObjectCommand>[0]>): Promise<unknown> =>
      stack().client.send(new HeadObjectCommand({ Bucket: stack().bucket, Key: 'cond/doc', ...extra }));

    it('If-None-Match with the ETag → 304', async () => {
      const stored = (
        await stack().raw.send(new HeadObjectCommand({ Bucket: stack().bucket, Key: 'cond/doc' }))
      ).ETag;
      expect(stored).not.toBe(etag); // the condition must use the plaintext ETag, not the stored one
      expect(await statusOnly(get(stack().client, stack().bucket, 'cond/doc', { IfNoneMatch: etag }))).toBe(
        304,
      );
      expect(await statusOnly(head({ IfNoneMatch: etag }))).toBe(304);
      expect(
        (await get(stack().client, stack().bucket, 'cond/doc', { IfNoneMatch: stored })).body.equals(body),
      ).toBe(true);
    });

    it('If-Match with another ETag → 412', async () => {
      expect(await s3Error(get(stack().client, stack().bucket, 'cond/doc', { IfMatch: '"0123"' }))).toEqual({
        name: 'PreconditionFailed',
        status: 412,
      });
      expect(await statusOnly(head({ IfMatch: '"0123"' }))).toBe(412);
      expect(
        (await get(stack().client, stack().bucket, 'cond/doc', { IfMatch: etag })).body.equals(body),
      ).toBe(true);
    });

    it('If-Modified-Since in the future → 304', async () => {
      const future = new Date(Date.now() + 24 * 3600 * 1000);
      expect(
        await statusOnly(get(stack().client, stack().bucket, 'cond/doc', { IfModifiedSince: future })),
      ).toBe(304);
      expect(await statusOnly(head({ IfModifiedSince: future }))).toBe(304);
      const past = new Date(Date.now() - 24 * 3600 * 1000);
      expect(
        (await get(stack().client, stack().bucket, 'cond/doc', { IfModifiedSince: past })).body.equals(body),
      ).toBe(true);
    });

    it('Range with If-Match: the range when the ETag holds, 412 when not', async () => {
      const part = await get(stack().client, stack().bucket, 'cond/doc', {
        Range: 'bytes=65000-140000',
        IfMatch: etag,
      });
      expect(part.body.equals(body.subarray(65_000, 140_001))).toBe(true);
      expect(part.contentRange).toBe(`bytes 65000-140000/${body.length}`);
      expect(
        await s3Error(
          get(stack().client, stack().bucket, 'cond/doc', { Range: 'bytes=65000-140000', IfMatch: '"0123"' }),
        ),
      ).toEqual({ name: 'PreconditionFailed', status: 412 });
    });
  });

  // ---- 9. aborted uploads
  describe('an upload the client aborts midway', () => {
    beforeEach(() => {
      lines.length = 0;
    });

    it('stores nothing, and the proxy keeps serving', async () => {
      const { proxy, bucket } = stack();
      const full = recognisable(1024 * 1024);
      const path = `/${bucket}/aborted/big`;
      const headers = signedHeaders(stack(), `127.0.0.1:${proxy.port}`, 'PUT', path, full);
      await new Promise<void>((resolve) => {
        const req = httpRequest({
          host: '127.0.0.1',
          port: proxy.port,
          method: 'PUT',
          path,
          headers,
          agent: false,
        });
        req.on('error', () => undefined); // the socket is destroyed on purpose
        req.on('response', () => undefined);
        req.write(full.subarray(0, 300 * 1024), () => {
          // Let the proxy take the first bytes and start its upstream PUT, then go away.
          setTimeout(() => {
            req.destroy();
            resolve();
          }, 200);
        });
      });
      // The proxy logs each request as it ends: by then the upstream PUT has been given up.
      const done = await waitFor('the aborted PutObject to end', () =>
        lines.find((l) => l['msg'] === 'request' && l['operation'] === 'PutObject'),
      );
      expect(done['method']).toBe('PUT');
      await expectNotStored(stack(), 'aborted/big');

      const body = recognisable(300_000);
      await put(stack().client, bucket, 'aborted/after', body);
      await expectCiphertextAtRest(stack(), 'aborted/after', body);
      expect((await get(stack().client, bucket, 'aborted/after')).body.equals(body)).toBe(true);
      await expectNotStored(stack(), 'aborted/big');
    });
  });

  // ---- 10. altered stored objects
  describe('stored objects altered in the backend', () => {
    it('a truncated object fails with DecryptionFailed before any byte is sent', async () => {
      const { client, raw, bucket } = stack();
      const body = recognisable(200_000);
      await put(client, bucket, 'altered/truncated', body);
      await expectCiphertextAtRest(stack(), 'altered/truncated', body);
      const stored = await readRaw(stack(), 'altered/truncated');
      await raw.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: 'altered/truncated',
          Body: stored.body.subarray(0, stored.body.length - 10),
          Metadata: stored.metadata,
        }),
      );
      expect(await s3Error(get(client, bucket, 'altered/truncated'))).toEqual({
        name: 'DecryptionFailed',
        status: 500,
      });
      expect(await s3Error(get(client, bucket, 'altered/truncated', { Range: 'bytes=0-9' }))).toEqual({
        name: 'DecryptionFailed',
        status: 500,
      });
      expect(
        await statusOnly(client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'altered/truncated' }))),
      ).toBe(500);
    });

    it('a flipped byte in the last chunk breaks the download instead of ending it short', async () => {
      const { client, raw, bucket, proxy } = stack();
      const body = recognisable(200_000);
      await put(client, bucket, 'altered/flipped', body);
      await expectCiphertextAtRest(stack(), 'altered/flipped', body);
      const stored = await readRaw(stack(), 'altered/flipped');
      stored.body[stored.body.length - 100]! ^= 0x01;
      await raw.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: 'altered/flipped',
          Body: stored.body,
          Metadata: stored.metadata,
        }),
      );
      await expect(get(client, bucket, 'altered/flipped')).rejects.toThrow();
      // What arrives before the break is only authenticated plaintext, and less than promised.
      const path = `/${bucket}/altered/flipped`;
      const partial = await new Promise<{ received: Buffer; declared: number; failed: boolean }>(
        (resolve) => {
          const req = httpRequest(
            {
              host: '127.0.0.1',
              port: proxy.port,
              path,
              headers: signedHeaders(stack(), `127.0.0.1:${proxy.port}`, 'GET', path),
              agent: false,
            },
            (res) => {
              const parts: Buffer[] = [];
              const declared = Number(res.headers['content-length']);
              res.on('data', (c: Buffer) => parts.push(c));
              res.on('end', () => resolve({ received: Buffer.concat(parts), declared, failed: false }));
              res.on('error', () => resolve({ received: Buffer.concat(parts), declared, failed: true }));
              res.on('aborted', () => resolve({ received: Buffer.concat(parts), declared, failed: true }));
            },
          );
          req.on('error', () => undefined);
          req.end();
        },
      );
      expect(partial.failed).toBe(true);
      expect(partial.declared).toBe(body.length);
      expect(partial.received.length).toBeLessThan(body.length);
      expect(partial.received.equals(body.subarray(0, partial.received.length))).toBe(true);
      // The tail alone, which lies in the altered chunk, fails too.
      await expect(get(client, bucket, 'altered/flipped', { Range: 'bytes=-10' })).rejects.toThrow();
    });
  });

  // ---- 11. the compiled proxy as a process
  describe('the s3seal-proxy process', () => {
    const mainJs = join(REPO_ROOT, 'packages/proxy/dist/main.js');
    let dir: string;
    beforeAll(async () => {
      // The process runs what src/ compiles to. `tsc -b packages/proxy` is the part of
      // `npm run build` the proxy needs (core, then proxy), incremental: about a second when
      // nothing changed; the other workspaces' builds are not this test's business.
      await promisify(execFile)(
        process.execPath,
        [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-b', 'packages/proxy'],
        { cwd: REPO_ROOT, timeout: 300_000 },
      );
      dir = await mkdtemp(join(tmpdir(), 's3seal-process-'));
    }, 300_000);
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    interface Spawned {
      readonly child: ChildProcess;
      readonly stdout: () => string;
      readonly stderr: () => string;
      readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
    }

    function spawnProxy(args: string[], env: Record<string, string>): Spawned {
      const child = spawn(process.execPath, [mainJs, ...args], {
        cwd: dir,
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
      child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.on('exit', (code, signal) => resolve({ code, signal })),
      );
      return { child, stdout: () => out, stderr: () => err, exited };
    }

    async function exitWithin(
      spawned: Spawned,
      ms: number,
    ): Promise<{ code: number | null; signal: string | null }> {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          spawned.child.kill('SIGKILL');
          reject(new Error(`the proxy did not exit within ${ms} ms\n${spawned.stderr()}`));
        }, ms);
      });
      try {
        return await Promise.race([spawned.exited, timeout]);
      } finally {
        clearTimeout(timer);
      }
    }

    /** A port something listens on, so a proxy told to use it would fail to start. */
    async function busyPort(): Promise<{ port: number; close: () => void }> {
      const server = createNetServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return { port: (server.address() as AddressInfo).port, close: () => server.close() };
    }

    it('starts from a config file, env and flags, serves, and exits 0 on SIGTERM', async () => {
      const s = stack();
      const busy = await busyPort();
      const config = join(dir, 'proxy.yaml');
      await writeFile(
        config,
        [
          `listen: "127.0.0.1:${busy.port}"`, // overridden by S3SEAL_LISTEN
          `upstream: ${s.minio.endpoint}`,
          `accessKeyId: ${s.minio.accessKeyId}`,
          `secretAccessKey: "${s.minio.secretAccessKey}"`,
          `kekDir: ${s.keyringDir}`,
          'chunkSize: 16384',
          'logLevel: warn', // overridden by --log-level: the "listening" line is at info
          '',
        ].join('\n'),
      );
      const proxy = spawnProxy(['--config', config, '--log-level', 'info'], { S3SEAL_LISTEN: '127.0.0.1:0' });
      let client: S3Client | undefined;
      try {
        const listening = await Promise.race([
          waitFor('"s3seal proxy listening"', () =>
            proxy
              .stdout()
              .split('\n')
              .filter((l) => l.startsWith('{'))
              .map((l) => JSON.parse(l) as Record<string, unknown>)
              .find((l) => l['msg'] === 's3seal proxy listening'),
          ),
          proxy.exited.then(({ code }) => {
            throw new Error(`the proxy exited with ${code}:\n${proxy.stderr()}`);
          }),
        ]);
        const listen = String(listening['listen']);
        expect(listen).toMatch(/^127\.0\.0\.1:\d+$/);
        expect(listen).not.toBe(`127.0.0.1:${busy.port}`);
        client = clientFor(`http://${listen}`, s.minio.accessKeyId, s.minio.secretAccessKey);
        const body = recognisable(100_000);
        await put(client, s.bucket, 'process/object', body);
        await expectCiphertextAtRest(s, 'process/object', body);
        // The file's chunk size was used: 100000 bytes in 16 KiB chunks is 7 tags.
        expect((await readRaw(s, 'process/object')).body.length).toBe(100_000 + 7 * 16);
        expect((await get(client, s.bucket, 'process/object')).body.equals(body)).toBe(true);
        // The in-process proxy shares the keyring, so it reads what the process wrote.
        expect((await get(s.client, s.bucket, 'process/object')).body.equals(body)).toBe(true);
      } finally {
        client?.destroy();
        busy.close();
        proxy.child.kill('SIGTERM');
      }
      expect(await exitWithin(proxy, 5000)).toEqual({ code: 0, signal: null });
    });

    it('exits with code 2 on a bad configuration, naming every problem', async () => {
      const config = join(dir, 'bad.yaml');
      await writeFile(config, 'chunkSize: 12\nbogusKey: 1\n');
      const proxy = spawnProxy(['--config', config, '--legacy', 'sometimes', '--bogus-flag=x'], {
        S3SEAL_OTHER_BUCKETS: 'maybe',
      });
      expect(await exitWithin(proxy, 10_000)).toEqual({ code: 2, signal: null });
      const problems = proxy
        .stderr()
        .split('\n')
        .filter((l) => l.startsWith('  - '));
      // One line per problem: the file's chunk size and unknown key, the flag's value, the
      // unknown flag, the variable's value, and the missing upstream, credentials and keyring.
      for (const name of [
        'chunkSize',
        'bogusKey',
        'legacy',
        'bogus-flag',
        'S3SEAL_OTHER_BUCKETS',
        'upstream',
        'credentials',
        'keyring',
      ]) {
        expect([name, problems.some((l) => l.includes(name))]).toEqual([name, true]);
      }
      expect(problems).toHaveLength(8);
      expect(proxy.stdout()).toBe('');
    });
  });
});

describe('S3SEAL_UPSTREAM_CREDENTIALS_FILE', () => {
  const file = join(tmpdir(), `s3seal-upstream-${randomBytes(6).toString('hex')}.json`);
  let own: Stack | undefined;
  let ownMinio: MinioServer | undefined;
  beforeAll(async () => {
    const minio = await startMinio();
    await writeFile(
      file,
      JSON.stringify({ accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey }),
    );
    // The environment's pair is wrong on purpose: the file must be what signs upstream requests.
    own = await startStack({
      minio,
      env: {
        S3SEAL_UPSTREAM_CREDENTIALS_FILE: file,
        AWS_ACCESS_KEY_ID: 'unused',
        AWS_SECRET_ACCESS_KEY: 'unused-secret',
      },
    });
    ownMinio = minio;
  });
  afterAll(async () => {
    await own?.stop();
    await ownMinio?.stop();
    await rm(file, { force: true });
  });

  it('signs upstream requests with the pair from the file, and clients sign with the same pair', async () => {
    const body = randomBytes(80_000);
    await own!.client.send(new PutObjectCommand({ Bucket: own!.bucket, Key: 'creds/file', Body: body }));
    const out = await own!.client.send(new GetObjectCommand({ Bucket: own!.bucket, Key: 'creds/file' }));
    expect(Buffer.from(await out.Body!.transformToByteArray()).equals(body)).toBe(true);
    await expectCiphertextAtRest(own!, 'creds/file', body);
  });
});
