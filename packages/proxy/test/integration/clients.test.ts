// Real S3 clients through the proxy against a real MinIO: the aws cli, boto3, the MinIO JS
// SDK, rclone, s3cmd and restic, each with its default request style (payload signing,
// checksums, Content-MD5) and configured to upload in one PUT, since multipart uploads are
// refused (NotImplemented) for now. Every write is checked at rest: MinIO holds ciphertext.
// (@aws-sdk/client-s3 is covered by objects.test.ts.)
//
// S3SEAL_CLIENTS_REPORT=<file>: also write, per client, the headers of one recorded PUT.
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import {
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import type { Client as MinioClient } from 'minio';
import {
  RCLONE_REMOTE,
  awsCli,
  boto3,
  minioJs,
  rclone,
  restic,
  s3cmd,
  targetOf,
} from '../helpers/clients.js';
import type { AwsCli, Boto3, CliRunner, Restic, RunResult, S3Target } from '../helpers/clients.js';
import { bodyHeaders, startRecorder } from '../helpers/recorder.js';
import type { RecordedExchange } from '../helpers/recorder.js';
import { expectCiphertextAtRest, readRaw, recognisable, startStack } from '../helpers/stack.js';
import type { Stack } from '../helpers/stack.js';

/** Across the 64 KiB chunk boundary: empty, one byte, a few chunks, many chunks. */
const SIZES = [0, 1, 100 * 1024, 3 * 1024 * 1024] as const;
/** Over every multipart threshold configured below (5 MiB), under the one-PUT thresholds. */
const OVER_MULTIPART = 6 * 1024 * 1024;

// Each client call is a process start (the aws cli alone takes ~0.6 s), so a test makes several
// seconds: more than jest's 5 s default, which the integration project's testTimeout does not
// lift (jest reads testTimeout from the global config only).
jest.setTimeout(120_000);

let stack: Stack;
let target: S3Target;
let work: string;
const recordedPuts: Record<string, unknown> = {};

beforeAll(async () => {
  stack = await startStack();
  target = targetOf(stack);
  work = await mkdtemp(join(tmpdir(), 's3seal-clients-'));
});
afterAll(async () => {
  const report = process.env['S3SEAL_CLIENTS_REPORT'];
  if (report) await writeFile(report, `${JSON.stringify(recordedPuts, null, 2)}\n`);
  await stack?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

// ---- fixtures and checks ---------------------------------------------------------------------

/** Distinct, recognisable content per name, so a mix-up or a leak shows. */
function content(name: string, size: number): Buffer {
  return recognisable(size, `${name}: the quick brown fox jumps over the lazy dog; `);
}

/** Writes files (relative path → bytes) under a fresh directory in `work`. */
async function writeTree(name: string, files: Record<string, Buffer>): Promise<string> {
  const dir = join(work, name);
  for (const [path, body] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), body);
  }
  return dir;
}

/** Every file under `dir`, by path relative to it. */
async function readTree(dir: string): Promise<Record<string, Buffer>> {
  const out: Record<string, Buffer> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out[relative(dir, path)] = await readFile(path);
  }
  return out;
}

function expectSameTree(actual: Record<string, Buffer>, expected: Record<string, Buffer>): void {
  expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
  for (const [path, body] of Object.entries(expected)) {
    expect({ path, md5: md5(actual[path]!) }).toEqual({ path, md5: md5(body) });
  }
}

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

/** Keys MinIO holds under a prefix, with their stored sizes. */
async function rawObjects(prefix: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let token: string | undefined;
  do {
    const page = await stack.raw.send(
      new ListObjectsV2Command({ Bucket: stack.bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) out.set(o.Key!, o.Size!);
    token = page.NextContinuationToken;
  } while (token !== undefined);
  return out;
}

/** Nothing of `key` reached MinIO: no object and no multipart upload in progress. */
async function expectNothingStored(key: string): Promise<void> {
  expect([...(await rawObjects(key)).keys()]).toEqual([]);
  const uploads = await stack.raw.send(
    new ListMultipartUploadsCommand({ Bucket: stack.bucket, Prefix: key }),
  );
  expect(uploads.Uploads ?? []).toEqual([]);
}

/** Checks each file of a tree uploaded under `prefix` is ciphertext at rest. */
async function expectTreeAtRest(prefix: string, files: Record<string, Buffer>): Promise<void> {
  for (const [path, body] of Object.entries(files))
    await expectCiphertextAtRest(stack, `${prefix}${path}`, body);
}

/** A client's listing as path → size; `line` captures the size, then the path. */
function parseSizes(stdout: string, line: RegExp): Record<string, number> {
  const out: Record<string, number> = {};
  for (const text of stdout.split('\n')) {
    const m = line.exec(text);
    if (m) out[m[2]!] = Number(m[1]);
  }
  return out;
}

/** A failed run whose output names the S3 error code the proxy answered with. */
function expectRefused(result: RunResult, code = 'NotImplemented'): void {
  expect(result.code).not.toBe(0);
  expect(`${result.stdout}\n${result.stderr}`).toContain(code);
}

/**
 * Runs `upload` against a recorder in front of the proxy and keeps the headers of the PUT of
 * `key` (what the client really sends: payload mode, checksums, Content-MD5).
 */
async function recordPut(
  client: string,
  key: string,
  upload: (via: S3Target) => Promise<unknown>,
): Promise<Record<string, string>> {
  const recorder = await startRecorder(stack.proxy.url);
  const puts = (): RecordedExchange[] =>
    recorder.exchanges.filter((e) => e.method === 'PUT' && e.url.split('?')[0]!.endsWith(`/${key}`));
  try {
    await upload(targetOf(stack, recorder.url));
    expect(puts().map((p) => p.status)).toEqual([200]);
    return bodyHeaders(puts()[0]!);
  } finally {
    const first = puts()[0];
    recordedPuts[client] = {
      request: first && bodyHeaders(first),
      bodyBytes: first?.bodyBytes,
      responseEtag: first?.responseHeaders?.etag,
      exchanges: recorder.exchanges.map((e) => `${e.method} ${e.url} -> ${e.status}`),
    };
    await recorder.close();
  }
}

// ---- aws cli ---------------------------------------------------------------------------------

describe('aws cli', () => {
  let aws: AwsCli;
  let dir: string;
  const files = Object.fromEntries(SIZES.map((size) => [`${size}.bin`, content(`aws-${size}`, size)]));
  beforeAll(async () => {
    aws = await awsCli(target);
    dir = await writeTree('aws', files);
  });
  afterAll(async () => {
    await aws?.close();
  });

  it.each(SIZES)('s3 cp uploads and downloads %i bytes, ciphertext at rest', async (size) => {
    const key = `aws/cp/${size}.bin`;
    await aws.run(['s3', 'cp', join(dir, `${size}.bin`), `s3://${stack.bucket}/${key}`]);
    await expectCiphertextAtRest(stack, key, files[`${size}.bin`]!);
    const back = join(dir, `back-${size}.bin`);
    await aws.run(['s3', 'cp', `s3://${stack.bucket}/${key}`, back]);
    expect(md5(await readFile(back))).toBe(md5(files[`${size}.bin`]!));
  });

  it('s3 ls shows plaintext sizes', async () => {
    const out = await aws.run(['s3', 'ls', `s3://${stack.bucket}/aws/cp/`]);
    // 2026-01-01 12:00:00     102400 102400.bin
    const listed = parseSizes(out.stdout, /^\S+ \S+\s+(\d+) (.+)$/);
    expect(listed).toEqual(Object.fromEntries(SIZES.map((size) => [`${size}.bin`, size])));
  });

  it('s3 rm deletes the object in MinIO', async () => {
    const key = 'aws/rm/gone.bin';
    await aws.run(['s3', 'cp', join(dir, '1.bin'), `s3://${stack.bucket}/${key}`]);
    await expectCiphertextAtRest(stack, key, files['1.bin']!);
    await aws.run(['s3', 'rm', `s3://${stack.bucket}/${key}`]);
    await expectNothingStored(key);
  });

  it('s3 sync uploads a nested tree once, a second sync uploads nothing, and syncs back', async () => {
    const tree = {
      'top.txt': content('sync-top', 1),
      'a/one.bin': content('sync-one', 100 * 1024),
      'a/b/two.bin': content('sync-two', 3 * 1024 * 1024),
      'a/b/c/empty': Buffer.alloc(0),
      'z/64k.bin': content('sync-64k', 64 * 1024),
    };
    const src = await writeTree('aws-sync', tree);
    const remote = `s3://${stack.bucket}/aws/sync/`;
    const first = await aws.run(['s3', 'sync', src, remote, '--no-progress']);
    expect(first.stdout.match(/^upload: /gm)).toHaveLength(Object.keys(tree).length);
    await expectTreeAtRest('aws/sync/', tree);
    const second = await aws.run(['s3', 'sync', src, remote, '--no-progress']);
    expect(second.stdout.trim()).toBe('');
    const down = join(work, 'aws-sync-down');
    await aws.run(['s3', 'sync', remote, down, '--no-progress']);
    expectSameTree(await readTree(down), tree);
  });

  it('s3api put-object, head-object, list-objects-v2 and ranged get-object', async () => {
    const body = content('aws-api', 3 * 1024 * 1024 + 17);
    const file = join(dir, 'api.bin');
    await writeFile(file, body);
    const key = 'aws/api/object.bin';
    const put = await aws.json<{ ETag: string }>([
      's3api',
      'put-object',
      '--bucket',
      stack.bucket,
      '--key',
      key,
      '--body',
      file,
    ]);
    // Without Content-MD5 a body over one chunk has no recorded MD5: the ETag then has the
    // multipart form, which MD5-comparing clients skip (docs/FORMAT.md §5).
    expect(put.ETag).toMatch(/^"[0-9a-f]{32}-1"$/);
    await expectCiphertextAtRest(stack, key, body);

    const head = await aws.json<{ ContentLength: number; ETag: string }>([
      's3api',
      'head-object',
      '--bucket',
      stack.bucket,
      '--key',
      key,
    ]);
    expect(head.ContentLength).toBe(body.length);
    expect(head.ETag).toBe(put.ETag);

    const listed = await aws.json<{ Contents: { Key: string; Size: number }[] }>([
      's3api',
      'list-objects-v2',
      '--bucket',
      stack.bucket,
      '--prefix',
      'aws/api/',
    ]);
    expect(listed.Contents.map((o) => [o.Key, o.Size])).toEqual([[key, body.length]]);

    for (const [range, start, end] of [
      ['bytes=65530-65545', 65530, 65546],
      ['bytes=100-200000', 100, 200001],
      ['bytes=-100', body.length - 100, body.length],
      [`bytes=${body.length - 5}-`, body.length - 5, body.length],
    ] as const) {
      const out = join(dir, 'range.out');
      const got = await aws.json<{ ContentLength: number; ContentRange: string }>([
        's3api',
        'get-object',
        '--bucket',
        stack.bucket,
        '--key',
        key,
        '--range',
        range,
        out,
      ]);
      expect({ range, length: got.ContentLength, contentRange: got.ContentRange }).toEqual({
        range,
        length: end - start,
        contentRange: `bytes ${start}-${end - 1}/${body.length}`,
      });
      expect((await readFile(out)).equals(body.subarray(start, end))).toBe(true);
    }
  });

  it('records the headers of a single PUT', async () => {
    const key = 'aws/recorded.bin';
    await recordPut('aws cli s3 cp', key, async (via) => {
      const recorded = await awsCli(via);
      try {
        await recorded.run(['s3', 'cp', join(dir, `${100 * 1024}.bin`), `s3://${stack.bucket}/${key}`]);
      } finally {
        await recorded.close();
      }
    });
    await expectCiphertextAtRest(stack, key, files[`${100 * 1024}.bin`]!);
  });

  it('an upload over the multipart threshold fails with NotImplemented and stores nothing', async () => {
    const multipart = await awsCli(target, { multipartThreshold: '5MB', multipartChunksize: '5MB' });
    try {
      const file = join(dir, 'big.bin');
      await writeFile(file, content('aws-big', OVER_MULTIPART));
      const key = 'aws/multipart/big.bin';
      expectRefused(
        await multipart.run(['s3', 'cp', file, `s3://${stack.bucket}/${key}`], { allowFailure: true }),
      );
      await expectNothingStored(key);
    } finally {
      await multipart.close();
    }
  });

  it('s3 mv moves an object between keys (CopyObject + DeleteObject)', async () => {
    const from = 'aws/mv/from.bin';
    const to = 'aws/mv/to.bin';
    const body = files[`${100 * 1024}.bin`]!;
    await aws.run(['s3', 'cp', join(dir, `${100 * 1024}.bin`), `s3://${stack.bucket}/${from}`]);
    await aws.run(['s3', 'mv', `s3://${stack.bucket}/${from}`, `s3://${stack.bucket}/${to}`]);
    await expectNothingStored(from);
    await expectCiphertextAtRest(stack, to, body);
    const back = join(dir, 'moved.bin');
    await aws.run(['s3', 'cp', `s3://${stack.bucket}/${to}`, back]);
    expect(md5(await readFile(back))).toBe(md5(body));
  });
});

// ---- boto3 -----------------------------------------------------------------------------------

describe('boto3', () => {
  let py: Boto3;
  let dir: string;
  const files = Object.fromEntries(SIZES.map((size) => [`${size}.bin`, content(`boto3-${size}`, size)]));
  beforeAll(async () => {
    py = await boto3(target);
    dir = await writeTree('boto3', files);
  });
  afterAll(async () => {
    await py?.close();
  });

  it.each(SIZES)('put_object, get_object, head_object and list_objects_v2 with %i bytes', async (size) => {
    const key = `boto3/api/${size}.bin`;
    const result = await py.run<{ etag: string; same: boolean; length: number; sizes: number[] }>(
      `
b, k = ARGS["bucket"], ARGS["key"]
body = open(ARGS["file"], "rb").read()
put = s3.put_object(Bucket=b, Key=k, Body=body)
got = s3.get_object(Bucket=b, Key=k)["Body"].read()
head = s3.head_object(Bucket=b, Key=k)
listed = s3.list_objects_v2(Bucket=b, Prefix=k)["Contents"]
out({"etag": put["ETag"], "same": got == body, "length": head["ContentLength"], "sizes": [o["Size"] for o in listed]})
`,
      { bucket: stack.bucket, key, file: join(dir, `${size}.bin`) },
    );
    expect(result).toMatchObject({ same: true, length: size, sizes: [size] });
    await expectCiphertextAtRest(stack, key, files[`${size}.bin`]!);
  });

  it.each(SIZES)('upload_file and download_file (one PUT; ranged GETs) with %i bytes', async (size) => {
    const key = `boto3/transfer/${size}.bin`;
    const back = join(dir, `back-${size}.bin`);
    await py.run(
      `
MiB = 1024 * 1024
s3.upload_file(ARGS["src"], ARGS["bucket"], ARGS["key"], Config=TransferConfig(multipart_threshold=64 * MiB))
# Downloads over 1 MiB are split into ranged GETs of 1 MiB.
s3.download_file(ARGS["bucket"], ARGS["key"], ARGS["dst"], Config=TransferConfig(multipart_threshold=MiB, multipart_chunksize=MiB))
out(True)
`,
      { bucket: stack.bucket, key, src: join(dir, `${size}.bin`), dst: back },
    );
    await expectCiphertextAtRest(stack, key, files[`${size}.bin`]!);
    expect(md5(await readFile(back))).toBe(md5(files[`${size}.bin`]!));
  });

  it('records the headers of a single PUT', async () => {
    const key = 'boto3/recorded.bin';
    await recordPut('boto3 put_object', key, async (via) => {
      const recorded = await boto3(via);
      try {
        await recorded.run(
          `s3.put_object(Bucket=ARGS["bucket"], Key=ARGS["key"], Body=open(ARGS["file"], "rb").read())`,
          { bucket: stack.bucket, key, file: join(dir, `${100 * 1024}.bin`) },
        );
      } finally {
        await recorded.close();
      }
    });
    await expectCiphertextAtRest(stack, key, files[`${100 * 1024}.bin`]!);
  });

  it('upload_file over the multipart threshold fails with NotImplemented and stores nothing', async () => {
    const file = join(dir, 'big.bin');
    await writeFile(file, content('boto3-big', OVER_MULTIPART));
    const key = 'boto3/multipart/big.bin';
    const result = await py.run<{ ok: boolean; error?: string; code?: string }>(
      `
MiB = 1024 * 1024
try:
    s3.upload_file(ARGS["src"], ARGS["bucket"], ARGS["key"], Config=TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB))
    out({"ok": True})
except Exception as e:
    cause = e if isinstance(e, ClientError) else (e.__cause__ or e.__context__)
    code = cause.response["Error"]["Code"] if isinstance(cause, ClientError) else None
    out({"ok": False, "error": type(e).__name__, "code": code})
`,
      { bucket: stack.bucket, key, src: file },
    );
    expect(result).toEqual({ ok: false, error: 'S3UploadFailedError', code: 'NotImplemented' });
    await expectNothingStored(key);
  });
});

// ---- MinIO JS SDK ----------------------------------------------------------------------------

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(parts);
}

async function listMinio(client: MinioClient, prefix: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for await (const item of client.listObjectsV2(stack.bucket, prefix, true)) {
    const entry = item as { name?: string; size?: number };
    if (entry.name !== undefined) out[entry.name] = entry.size ?? -1;
  }
  return out;
}

describe('minio JS SDK', () => {
  let client: MinioClient;
  beforeAll(() => {
    client = minioJs(target);
  });

  it.each(SIZES)('putObject, getObject, statObject with %i bytes', async (size) => {
    const key = `minio-js/${size}.bin`;
    const body = content(`minio-${size}`, size);
    const put = await client.putObject(stack.bucket, key, body, body.length);
    // An MD5-shaped ETag is only ever the plaintext's MD5; otherwise the multipart form.
    expect(put.etag === md5(body) || /^[0-9a-f]{32}-1$/.test(put.etag)).toBe(true);
    await expectCiphertextAtRest(stack, key, body);
    expect(md5(await collect(await client.getObject(stack.bucket, key)))).toBe(md5(body));
    const stat = await client.statObject(stack.bucket, key);
    expect(stat.size).toBe(size);
    expect(stat.etag).toBe(put.etag);
    if (size > 0) {
      const last = await collect(await client.getPartialObject(stack.bucket, key, size - 1, 1));
      expect(last.equals(body.subarray(size - 1))).toBe(true);
    }
  });

  it('listObjectsV2 shows plaintext sizes', async () => {
    expect(await listMinio(client, 'minio-js/')).toEqual(
      Object.fromEntries(SIZES.map((size) => [`minio-js/${size}.bin`, size])),
    );
  });

  it('records the headers of a single PUT', async () => {
    const key = 'minio-js-recorded/100k.bin';
    const body = content('minio-recorded', 100 * 1024);
    await recordPut('minio JS putObject', key, (via) =>
      minioJs(via).putObject(stack.bucket, key, body, body.length),
    );
    await expectCiphertextAtRest(stack, key, body);
  });

  it('putObject over the part size fails with NotImplemented and stores nothing', async () => {
    const multipart = minioJs(target, { partSize: 5 * 1024 * 1024 });
    const key = 'minio-js-multipart/big.bin';
    const body = content('minio-big', OVER_MULTIPART);
    const err = await multipart.putObject(stack.bucket, key, body, body.length).then(
      () => undefined,
      (e: unknown) => e as { code?: string },
    );
    expect(err?.code).toBe('NotImplemented');
    await expectNothingStored(key);
  });
});

// ---- rclone ----------------------------------------------------------------------------------

/** `rclone lsl` output as path → size: `   102400 2026-01-01 12:00:00.000000000 dir/100k.bin`. */
const parseLsl = (stdout: string): Record<string, number> => parseSizes(stdout, /^\s*(\d+) \S+ \S+ (.+)$/);

const sizesOf = (files: Record<string, Buffer>): Record<string, number> =>
  Object.fromEntries(Object.entries(files).map(([path, body]) => [path, body.length]));

describe('rclone', () => {
  let rc: CliRunner;
  const remote = (path: string): string => `${RCLONE_REMOTE}:${stack.bucket}/${path}`;
  const tree: Record<string, Buffer> = {
    'empty.bin': Buffer.alloc(0),
    'one.bin': content('rclone-one', 1),
    'dir/100k.bin': content('rclone-100k', 100 * 1024),
    'dir/deeper/3m.bin': content('rclone-3m', 3 * 1024 * 1024),
  };
  let src: string;
  beforeAll(async () => {
    rc = await rclone(target);
    src = await writeTree('rclone', tree);
  });
  afterAll(async () => {
    await rc?.close();
  });

  it('copy uploads a directory; lsl shows plaintext sizes; check --download finds no difference', async () => {
    await rc.run(['copy', src, remote('rclone/tree')]);
    await expectTreeAtRest('rclone/tree/', tree);
    expect(parseLsl((await rc.run(['lsl', remote('rclone/tree')])).stdout)).toEqual(sizesOf(tree));
    const check = await rc.run(['check', '--download', src, remote('rclone/tree')]);
    expect(check.stderr).toMatch(/\b0 differences found/);
  });

  it('check (by MD5, from listings) finds no difference for what rclone uploaded', async () => {
    await rc.run(['copy', src, remote('rclone/by-hash')]);
    const check = await rc.run(['check', src, remote('rclone/by-hash')]);
    expect(check.stderr).toMatch(/\b0 differences found/);
  });

  it('sync adds, replaces and deletes objects to match the directory', async () => {
    await rc.run(['copy', src, remote('rclone/sync')]);
    const changed: Record<string, Buffer> = {
      ...tree,
      'dir/100k.bin': content('rclone-100k-v2', 100 * 1024 + 1),
      'new/added.bin': content('rclone-added', 70 * 1024),
    };
    delete changed['one.bin'];
    const dir = await writeTree('rclone-sync', changed);
    await rc.run(['sync', dir, remote('rclone/sync')]);
    expect(parseLsl((await rc.run(['lsl', remote('rclone/sync')])).stdout)).toEqual(sizesOf(changed));
    expect([...(await rawObjects('rclone/sync/')).keys()].sort()).toEqual(
      Object.keys(changed)
        .map((path) => `rclone/sync/${path}`)
        .sort(),
    );
    await expectTreeAtRest('rclone/sync/', changed);
    const check = await rc.run(['check', '--download', dir, remote('rclone/sync')]);
    expect(check.stderr).toMatch(/\b0 differences found/);
    const down = join(work, 'rclone-down');
    await rc.run(['copy', remote('rclone/sync'), down]);
    expectSameTree(await readTree(down), changed);
  });

  it('downloads and checks objects another client wrote without Content-MD5', async () => {
    const files = {
      '100k.bin': content('rclone-foreign', 100 * 1024),
      'small.bin': content('rclone-foreign-small', 1000),
    };
    for (const [name, body] of Object.entries(files)) {
      await stack.client.send(
        new PutObjectCommand({ Bucket: stack.bucket, Key: `rclone/foreign/${name}`, Body: body }),
      );
    }
    await expectTreeAtRest('rclone/foreign/', files);
    const down = join(work, 'rclone-foreign');
    await rc.run(['copy', remote('rclone/foreign'), down]);
    expectSameTree(await readTree(down), files);
    const check = await rc.run(['check', down, remote('rclone/foreign')]);
    expect(check.stderr).toMatch(/\b0 differences found/);
  });

  it('records the headers of a single PUT', async () => {
    const key = 'rclone/recorded/100k.bin';
    await recordPut('rclone copyto', key, async (via) => {
      const recorded = await rclone(via);
      try {
        await recorded.run(['copyto', join(src, 'dir/100k.bin'), remote(key)]);
      } finally {
        await recorded.close();
      }
    });
    await expectCiphertextAtRest(stack, key, tree['dir/100k.bin']!);
  });

  it('an upload over --s3-upload-cutoff fails with NotImplemented and stores nothing', async () => {
    const multipart = await rclone(target, { uploadCutoff: '5M', chunkSize: '5M' });
    try {
      const file = join(work, 'rclone-big.bin');
      await writeFile(file, content('rclone-big', OVER_MULTIPART));
      const key = 'rclone/multipart/big.bin';
      expectRefused(await multipart.run(['copyto', file, remote(key)], { allowFailure: true }));
      await expectNothingStored(key);
    } finally {
      await multipart.close();
    }
  });

  it('moveto moves an object server-side (CopyObject + DeleteObject)', async () => {
    await rc.run(['copyto', join(src, 'dir/100k.bin'), remote('rclone/move/from.bin')]);
    await rc.run(['moveto', remote('rclone/move/from.bin'), remote('rclone/move/to.bin')]);
    await expectNothingStored('rclone/move/from.bin');
    await expectCiphertextAtRest(stack, 'rclone/move/to.bin', tree['dir/100k.bin']!);
    const back = join(work, 'rclone-moved.bin');
    await rc.run(['copyto', remote('rclone/move/to.bin'), back]);
    expect(md5(await readFile(back))).toBe(md5(tree['dir/100k.bin']!));
  });
});

// ---- s3cmd -----------------------------------------------------------------------------------

describe('s3cmd', () => {
  let cmd: CliRunner;
  let dir: string;
  const files = Object.fromEntries(SIZES.map((size) => [`${size}.bin`, content(`s3cmd-${size}`, size)]));
  beforeAll(async () => {
    cmd = await s3cmd(target);
    dir = await writeTree('s3cmd', files);
  });
  afterAll(async () => {
    await cmd?.close();
  });

  it.each(SIZES)('put and get %i bytes, ciphertext at rest', async (size) => {
    const key = `s3cmd/${size}.bin`;
    await cmd.run(['put', join(dir, `${size}.bin`), `s3://${stack.bucket}/${key}`]);
    await expectCiphertextAtRest(stack, key, files[`${size}.bin`]!);
    const back = join(dir, `back-${size}.bin`);
    await cmd.run(['get', '--force', `s3://${stack.bucket}/${key}`, back]);
    expect(md5(await readFile(back))).toBe(md5(files[`${size}.bin`]!));
  });

  it('ls shows plaintext sizes', async () => {
    const out = await cmd.run(['ls', `s3://${stack.bucket}/s3cmd/`]);
    // 2026-01-01 12:00       102400  s3://bucket/s3cmd/102400.bin
    const listed = parseSizes(out.stdout, /^\S+ \S+\s+(\d+)\s+s3:\/\/[^/]+\/(.+)$/);
    expect(listed).toEqual(Object.fromEntries(SIZES.map((size) => [`s3cmd/${size}.bin`, size])));
  });

  it('del deletes the object in MinIO', async () => {
    const key = 's3cmd/1.bin';
    await cmd.run(['del', `s3://${stack.bucket}/${key}`]);
    await expectNothingStored(key);
  });

  it('records the headers of a single PUT', async () => {
    const key = 's3cmd-recorded/100k.bin';
    await recordPut('s3cmd put', key, async (via) => {
      const recorded = await s3cmd(via);
      try {
        await recorded.run(['put', join(dir, `${100 * 1024}.bin`), `s3://${stack.bucket}/${key}`]);
      } finally {
        await recorded.close();
      }
    });
    await expectCiphertextAtRest(stack, key, files[`${100 * 1024}.bin`]!);
  });

  it('a multipart put fails with NotImplemented and stores nothing', async () => {
    const multipart = await s3cmd(target, { multipart: true, multipartChunkSizeMb: 5 });
    try {
      const file = join(dir, 'big.bin');
      await writeFile(file, content('s3cmd-big', OVER_MULTIPART));
      const key = 's3cmd-multipart/big.bin';
      expectRefused(
        await multipart.run(['put', file, `s3://${stack.bucket}/${key}`], { allowFailure: true }),
      );
      await expectNothingStored(key);
    } finally {
      await multipart.close();
    }
  });
});

// ---- restic ----------------------------------------------------------------------------------

describe('restic', () => {
  const prefix = 'restic-repo';
  let repo: Restic;
  let src: string;
  // Random data (restic compresses): about 4.5 MiB in all, across the chunk boundary.
  const tree: Record<string, Buffer> = {
    empty: Buffer.alloc(0),
    one: randomBytes(1),
    'docs/100k.bin': randomBytes(100 * 1024),
    'docs/text.txt': content('restic-text', 300 * 1024),
    'data/deep/3m.bin': randomBytes(3 * 1024 * 1024),
    'data/deep/1m.bin': randomBytes(1024 * 1024 + 3),
  };
  beforeAll(async () => {
    repo = await restic(target, stack.bucket, prefix);
    src = await writeTree('restic-src', tree);
  });
  afterAll(async () => {
    await repo?.close();
  });

  /** Every object of the repository is ciphertext at rest of what restic reads through the proxy. */
  async function expectRepoAtRest(): Promise<Map<string, number>> {
    const objects = await rawObjects(`${prefix}/`);
    for (const key of objects.keys()) {
      const { metadata } = await readRaw(stack, key);
      expect({ key, v: metadata['s3seal-v'] }).toEqual({ key, v: '1' });
      const viaProxy = await stack.client.send(new GetObjectCommand({ Bucket: stack.bucket, Key: key }));
      await expectCiphertextAtRest(stack, key, Buffer.from(await viaProxy.Body!.transformToByteArray()));
    }
    return objects;
  }

  it('init creates an encrypted repository (config and keys)', async () => {
    await repo.run(['init']);
    const objects = await expectRepoAtRest();
    expect(objects.has(`${prefix}/config`)).toBe(true);
    expect([...objects.keys()].some((key) => key.startsWith(`${prefix}/keys/`))).toBe(true);
  });

  it('backup, check --read-data and restore round-trip the files byte for byte', async () => {
    await repo.run(['backup', '.'], { cwd: src });
    const objects = await expectRepoAtRest();
    expect([...objects.keys()].some((key) => key.startsWith(`${prefix}/data/`))).toBe(true);
    expect([...objects.keys()].some((key) => key.startsWith(`${prefix}/snapshots/`))).toBe(true);
    await repo.run(['check', '--read-data']);
    const out = join(work, 'restic-restore');
    await repo.run(['restore', 'latest', '--target', out]);
    expectSameTree(await readTree(out), tree);
  });

  it('records the headers of a single PUT', async () => {
    // A second repository through the recorder: `init` PUTs its config in one request.
    const key = 'restic-recorded/config';
    await recordPut('restic init', key, async (via) => {
      const recorded = await restic(via, stack.bucket, 'restic-recorded');
      try {
        await recorded.run(['init']);
      } finally {
        await recorded.close();
      }
    });
    expect((await readRaw(stack, key)).metadata['s3seal-v']).toBe('1');
  });

  // restic 0.14 sets minio-go's PartSize far above its largest pack (--pack-size ≤ 128 MiB): a
  // 21 MiB pack went up as one aws-chunked PUT. So no restic upload can cross a threshold.
  it.todo('an upload over the multipart threshold (restic never sends one: every pack is a single PUT)');
});
