// A bounded soak of the proxy (hardening issue "Load"): N clients against the built proxy run as
// its own process (multipart on, state in a real redis-server), mixing PUT, GET, ranged GET, LIST,
// CopyObject and multipart uploads, then every object verified by hash through the proxy and as
// ciphertext at rest, with the proxy's RSS sampled every second. `make soak` runs it for minutes
// (soak-main.ts); packages/proxy/test/integration/soak.test.ts runs a short one in `make test`.
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { assertCiphertextAtRest, startMinio, startValkey } from '@s3seal/testkit';
import type { MinioServer, ValkeyServer } from '@s3seal/testkit';
import { memory } from './proc-stats.js';
import { startProxyProcess } from './proxy-process.js';
import type { ProxyProcess } from './proxy-process.js';

const KIB = 1024;
const MIB = 1024 * KIB;
/** lib-storage's part size; S3's minimum (MinIO enforces it), so uploads above it are multipart. */
const PART_SIZE = 5 * MIB;

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export interface SoakOptions {
  readonly seconds: number;
  readonly clients: number;
  /** The largest object written (multipart above PART_SIZE). */
  readonly maxObjectBytes: number;
  /** Once this many bytes were uploaded, new writes stay at or under 1 MiB (keeps a small machine coping). */
  readonly writeBudgetBytes: number;
  /** Objects at or under this size are checked at rest with assertCiphertextAtRest; larger ones by metadata and size. */
  readonly atRestFullCheckMaxBytes?: number;
  /** Directory of the proxy's log. */
  readonly outDir: string;
  /** packages/proxy/dist/main.js by default. */
  readonly proxyMain?: string;
  /** S3SEAL_MAX_INFLIGHT of the proxy (default: the proxy's own, 256). */
  readonly maxInflight?: number;
  /** Called every few seconds with a one-line progress note. */
  readonly onProgress?: (line: string) => void;
}

export interface RssSample {
  readonly atSeconds: number;
  readonly rssMiB: number;
}

export interface SoakReport {
  readonly options: Omit<SoakOptions, 'onProgress'>;
  readonly durationSeconds: number;
  readonly ops: Record<OpName, number>;
  readonly bytesWritten: number;
  readonly bytesRead: number;
  readonly objects: number;
  readonly mismatches: {
    readonly get: number;
    readonly rangeGet: number;
    readonly list: number;
    readonly finalVerify: number;
  };
  readonly totalMismatches: number;
  readonly atRest: {
    readonly fullyChecked: number;
    readonly metadataChecked: number;
    readonly plaintext: number;
  };
  readonly errors: {
    /** S3 SlowDown/503 the SDK still failed with after its retries: allowed under the in-flight limit. */
    readonly slowDown: number;
    readonly unexpected: number;
    readonly samples: readonly string[];
  };
  readonly rss: {
    readonly samples: readonly RssSample[];
    readonly minMiB: number;
    readonly medianMiB: number;
    readonly maxMiB: number;
    readonly middleThirdMedianMiB: number;
    readonly lastThirdMedianMiB: number;
    /** The last third's median over the middle third's, minus one. */
    readonly growth: number;
    /** Growth of at most 10 % (or 8 MiB) from the middle third to the last third. */
    readonly isStable: boolean;
  };
  readonly proxyLog: string;
}

type OpName = 'put' | 'multipart' | 'get' | 'rangeGet' | 'list' | 'copy';

/** What a key holds: content is the AES-CTR keystream of `seed`, so any slice can be recomputed. */
interface Written {
  readonly seed: Buffer;
  readonly size: number;
  readonly sha256: string;
}

/** `length` bytes of the content of `seed` from `offset` (AES-128-CTR keystream, seekable). */
function contentSlice(seed: Buffer, offset: number, length: number): Buffer {
  const block = Math.floor(offset / 16);
  const iv = Buffer.alloc(16);
  iv.writeBigUInt64BE(BigInt(block), 8);
  const cipher = createCipheriv('aes-128-ctr', seed, iv);
  const skip = offset - block * 16;
  return cipher.update(Buffer.alloc(skip + length)).subarray(skip);
}

/** The content as a stream of 1 MiB pieces, hashed as it is produced. */
function contentStream(seed: Buffer, size: number, hash: ReturnType<typeof createHash>): Readable {
  function* pieces(): Generator<Buffer> {
    for (let at = 0; at < size; at += MIB) {
      const piece = contentSlice(seed, at, Math.min(MIB, size - at));
      hash.update(piece);
      yield piece;
    }
  }
  return Readable.from(pieces(), { objectMode: false });
}

/** Sizes skewed to small: most under 256 KiB, a few multipart ones up to `max`. */
function pickSize(max: number, isOverBudget: boolean): number {
  const r = Math.random();
  const between = (lo: number, hi: number): number => lo + Math.floor(Math.random() * (hi - lo + 1));
  let size: number;
  if (r < 0.05) size = 0;
  else if (r < 0.45) size = between(1, 4 * KIB);
  else if (r < 0.75) size = between(4 * KIB, 256 * KIB);
  else if (r < 0.9) size = between(256 * KIB, MIB);
  else if (r < 0.97) size = between(MIB, PART_SIZE);
  else size = between(PART_SIZE + 1, Math.max(PART_SIZE + 1, max));
  return Math.min(size, isOverBudget ? MIB : max);
}

async function drain(body: unknown): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of body as Readable) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function isSlowDown(err: unknown): boolean {
  const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'SlowDown' || e.Code === 'SlowDown' || e.$metadata?.httpStatusCode === 503;
}

/** Runs the soak; rejects only if the rig or the proxy cannot start. */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const proxyMain = options.proxyMain ?? path.join(REPO_ROOT, 'packages/proxy/dist/main.js');
  await mkdir(options.outDir, { recursive: true });
  const proxyLog = path.join(options.outDir, 'soak-proxy.log');
  let minio: MinioServer | undefined;
  let valkey: ValkeyServer | undefined;
  let proxy: ProxyProcess | undefined;
  const clients: S3Client[] = [];
  try {
    [minio, valkey] = await Promise.all([startMinio(), startValkey()]);
    proxy = await startProxyProcess({
      main: proxyMain,
      minio,
      logPath: proxyLog,
      logLevel: 'warn',
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: process.env['HOME'] ?? '',
        S3SEAL_VALKEY_URL: valkey.url,
        S3SEAL_MULTIPART: 'encrypt',
        ...(options.maxInflight === undefined ? {} : { S3SEAL_MAX_INFLIGHT: String(options.maxInflight) }),
      },
    });
    const credentials = { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey };
    const sockets = { httpAgent: { maxSockets: options.clients + 8, keepAlive: true } };
    const client = new S3Client({
      endpoint: proxy.url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials,
      requestHandler: sockets,
    });
    const raw = new S3Client({
      endpoint: minio.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials,
      requestHandler: sockets,
    });
    clients.push(client, raw);
    const bucket = `soak-${randomBytes(4).toString('hex')}`;
    await raw.send(new CreateBucketCommand({ Bucket: bucket }));
    return await drive(options, proxy, client, raw, bucket, proxyLog);
  } finally {
    for (const c of clients) c.destroy();
    await proxy?.stop();
    await Promise.all([minio?.stop(), valkey?.stop()]);
  }
}

async function drive(
  options: SoakOptions,
  proxy: ProxyProcess,
  client: S3Client,
  raw: S3Client,
  bucket: string,
  proxyLog: string,
): Promise<SoakReport> {
  const ops: Record<OpName, number> = { put: 0, multipart: 0, get: 0, rangeGet: 0, list: 0, copy: 0 };
  const mismatches = { get: 0, rangeGet: 0, list: 0, finalVerify: 0 };
  const errors = { slowDown: 0, unexpected: 0, samples: [] as string[] };
  let bytesWritten = 0;
  let bytesRead = 0;
  const objects = new Map<string, Written>();
  const startedAt = performance.now();
  const deadline = startedAt + options.seconds * 1000;
  const elapsedSeconds = (): number => (performance.now() - startedAt) / 1000;

  const rss: RssSample[] = [];
  const sampleRss = (): void => {
    rss.push({
      atSeconds: Math.round(elapsedSeconds()),
      rssMiB: Math.round(memory(proxy.pid).rssMiB * 10) / 10,
    });
  };
  sampleRss();
  const rssTimer = setInterval(sampleRss, 1000);
  let lastProgress = 0;

  const noteError = (op: string, key: string, err: unknown): void => {
    if (isSlowDown(err)) {
      errors.slowDown += 1;
      return;
    }
    errors.unexpected += 1;
    if (errors.samples.length < 20)
      errors.samples.push(`${op} ${key}: ${(err as Error).name}: ${(err as Error).message}`);
  };
  const mismatch = (kind: keyof typeof mismatches, key: string, what: string): void => {
    mismatches[kind] += 1;
    if (errors.samples.length < 20) errors.samples.push(`MISMATCH ${kind} ${key}: ${what}`);
  };

  async function put(key: string): Promise<void> {
    const seed = randomBytes(16);
    const size = pickSize(options.maxObjectBytes, bytesWritten > options.writeBudgetBytes);
    const hash = createHash('sha256');
    if (size > PART_SIZE) {
      const upload = new Upload({
        client,
        params: { Bucket: bucket, Key: key, Body: contentStream(seed, size, hash) },
        partSize: PART_SIZE,
        queueSize: 2,
      });
      await upload.done();
      ops.multipart += 1;
    } else {
      const body = contentSlice(seed, 0, size);
      hash.update(body);
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
      ops.put += 1;
    }
    bytesWritten += size;
    objects.set(key, { seed, size, sha256: hash.digest('hex') });
  }

  async function get(key: string, want: Written): Promise<void> {
    const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const got = await drain(out.Body);
    bytesRead += got.bytes;
    ops.get += 1;
    if (got.sha256 !== want.sha256) mismatch('get', key, `${got.bytes} bytes, expected ${want.size}`);
  }

  async function rangeGet(key: string, want: Written): Promise<void> {
    const start = Math.floor(Math.random() * want.size);
    const length = 1 + Math.floor(Math.random() * Math.min(MIB, want.size - start));
    const end = start + length - 1;
    const out = await client.send(
      new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${start}-${end}` }),
    );
    const got = await drain(out.Body);
    bytesRead += got.bytes;
    ops.rangeGet += 1;
    const expected = createHash('sha256')
      .update(contentSlice(want.seed, start, length))
      .digest('hex');
    if (got.sha256 !== expected) mismatch('rangeGet', key, `bytes=${start}-${end} of ${want.size}`);
  }

  async function list(prefix: string): Promise<void> {
    const listed = new Map<string, number>();
    let token: string | undefined;
    do {
      const out = await client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const entry of out.Contents ?? []) listed.set(entry.Key!, entry.Size ?? -1);
      token = out.NextContinuationToken;
    } while (token !== undefined);
    ops.list += 1;
    for (const [key, want] of objects) {
      if (!key.startsWith(prefix)) continue;
      if (listed.get(key) !== want.size)
        mismatch('list', key, `listed size ${listed.get(key)}, expected ${want.size}`);
    }
  }

  async function copy(from: string, to: string, want: Written): Promise<void> {
    await client.send(
      new CopyObjectCommand({ Bucket: bucket, Key: to, CopySource: `${bucket}/${encodeURIComponent(from)}` }),
    );
    ops.copy += 1;
    bytesWritten += want.size;
    objects.set(to, want);
  }

  // Each client has its own keys, so no two requests race on one key and every expectation holds.
  const KEYS_PER_CLIENT = 12;
  async function runClient(id: number): Promise<void> {
    const prefix = `c${id}/`;
    const keyOf = (n: number): string => `${prefix}k${n}`;
    while (performance.now() < deadline) {
      const key = keyOf(Math.floor(Math.random() * KEYS_PER_CLIENT));
      const known = objects.get(key);
      const r = Math.random();
      let op = 'put';
      try {
        if (known === undefined || r < 0.4) {
          op = 'put';
          await put(key);
        } else if (r < 0.65) {
          op = 'get';
          await get(key, known);
        } else if (r < 0.8) {
          op = 'rangeGet';
          if (known.size > 0) await rangeGet(key, known);
          else await get(key, known);
        } else if (r < 0.88) {
          op = 'list';
          await list(prefix);
        } else {
          op = 'copy';
          // CopyObject is capped at 5 GiB; the proxy re-encrypts through itself, so keep it modest.
          // To another key: a copy onto itself without a metadata change is refused by S3.
          const to = keyOf(
            (Number(key.slice(prefix.length + 1)) + 1 + Math.floor(Math.random() * (KEYS_PER_CLIENT - 1))) %
              KEYS_PER_CLIENT,
          );
          if (known.size <= 16 * MIB) await copy(key, to, known);
          else await get(key, known);
        }
      } catch (err: unknown) {
        noteError(op, key, err);
      }
      if (id === 0 && options.onProgress && performance.now() - lastProgress > 10_000) {
        lastProgress = performance.now();
        const total = Object.values(ops).reduce((a, b) => a + b, 0);
        options.onProgress(
          `${Math.round(elapsedSeconds())} s: ${total} ops, ${(bytesWritten / MIB).toFixed(0)} MiB written, ` +
            `RSS ${rss.at(-1)?.rssMiB ?? 0} MiB, errors ${errors.unexpected} (+${errors.slowDown} SlowDown)`,
        );
      }
    }
  }

  await Promise.all(Array.from({ length: options.clients }, (_, id) => runClient(id)));
  clearInterval(rssTimer);
  sampleRss();
  const durationSeconds = elapsedSeconds();

  // Every object, through the proxy by hash, and at rest: the stored bytes are ciphertext.
  const fullMax = options.atRestFullCheckMaxBytes ?? MIB;
  const atRest = { fullyChecked: 0, metadataChecked: 0, plaintext: 0 };
  const entries = [...objects];
  let next = 0;
  const verifyOne = async (): Promise<void> => {
    while (next < entries.length) {
      const [key, want] = entries[next++]!;
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        const got = await drain(out.Body);
        if (got.sha256 !== want.sha256)
          mismatch('finalVerify', key, `${got.bytes} bytes, expected ${want.size}`);
      } catch (err: unknown) {
        mismatch('finalVerify', key, `unreadable: ${(err as Error).name}: ${(err as Error).message}`);
      }
      try {
        if (want.size <= fullMax) {
          await assertCiphertextAtRest(raw, bucket, key, contentSlice(want.seed, 0, want.size));
          atRest.fullyChecked += 1;
        } else {
          const head = await raw.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
          if (head.Metadata?.['s3seal-v'] !== '1' || (head.ContentLength ?? 0) <= want.size)
            throw new Error(`stored ${head.ContentLength} bytes without s3seal metadata`);
          atRest.metadataChecked += 1;
        }
      } catch (err: unknown) {
        atRest.plaintext += 1;
        if (errors.samples.length < 20) errors.samples.push(`AT REST ${key}: ${(err as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, verifyOne));

  const values = rss.map((s) => s.rssMiB);
  const third = Math.floor(values.length / 3);
  const middle = median(values.slice(third, 2 * third));
  const last = median(values.slice(2 * third));
  const { onProgress: _onProgress, ...reported } = options;
  void _onProgress;
  return {
    options: reported,
    durationSeconds: Math.round(durationSeconds),
    ops,
    bytesWritten,
    bytesRead,
    objects: objects.size,
    mismatches,
    totalMismatches: Object.values(mismatches).reduce((a, b) => a + b, 0),
    atRest,
    errors,
    rss: {
      samples: rss,
      minMiB: Math.min(...values),
      medianMiB: median(values),
      maxMiB: Math.max(...values),
      middleThirdMedianMiB: middle,
      lastThirdMedianMiB: last,
      growth: middle === 0 ? 0 : Math.round((last / middle - 1) * 1000) / 1000,
      isStable: last <= Math.max(middle * 1.1, middle + 8),
    },
    proxyLog,
  };
}

/** The report in a few lines, for a terminal. */
export function summarizeSoak(report: SoakReport): string {
  const totalOps = Object.values(report.ops).reduce((a, b) => a + b, 0);
  const { rss } = report;
  return [
    `soak: ${report.options.clients} clients, ${report.durationSeconds} s, ${totalOps} ops ` +
      `(${Object.entries(report.ops)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')})`,
    `  bytes: ${(report.bytesWritten / MIB).toFixed(1)} MiB written, ${(report.bytesRead / MIB).toFixed(1)} MiB read; ${report.objects} objects at the end`,
    `  mismatches: ${report.totalMismatches} (get ${report.mismatches.get}, range ${report.mismatches.rangeGet}, list ${report.mismatches.list}, final ${report.mismatches.finalVerify})`,
    `  at rest: ${report.atRest.fullyChecked} checked byte-wise, ${report.atRest.metadataChecked} by metadata; plaintext found: ${report.atRest.plaintext}`,
    `  errors: ${report.errors.unexpected} unexpected, ${report.errors.slowDown} SlowDown/503`,
    `  proxy RSS: min ${rss.minMiB} / median ${rss.medianMiB} / max ${rss.maxMiB} MiB; middle third ${rss.middleThirdMedianMiB}, last third ${rss.lastThirdMedianMiB} (${(rss.growth * 100).toFixed(1)} %): ${rss.isStable ? 'stable' : 'GROWING'}`,
    ...report.errors.samples.map((s) => `  ! ${s}`),
  ].join('\n');
}

/** Zero mismatches, zero plaintext at rest, zero unexpected errors. */
export function isSoakClean(report: SoakReport): boolean {
  return report.totalMismatches === 0 && report.atRest.plaintext === 0 && report.errors.unexpected === 0;
}
