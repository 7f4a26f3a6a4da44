import type { ProxyMetrics } from '../metrics.js';
import { S3Error } from '../s3/errors.js';
import type { ValkeyClient } from './valkey-client.js';

/**
 * What the proxy keeps about an upload in flight, from CreateMultipartUpload until it is
 * completed or aborted: the s3seal metadata (with the wrapped data key, never a plaintext
 * one) and, per part, what the client's ETag and the backend's are.
 */
export interface UploadState {
  readonly bucket: string;
  readonly key: string;
  /** The s3seal metadata sent with the upstream CreateMultipartUpload (names without x-amz-meta-). */
  readonly metadata: Readonly<Record<string, string>>;
  /** ISO 8601. */
  readonly createdAt: string;
}

export interface PartRecord {
  readonly plaintextSize: number;
  readonly sealedSize: number;
  /** The backend's ETag of the sealed part, as it returned it (quoted). */
  readonly upstreamEtag: string;
  /** MD5 of the plaintext part, lower hex: the ETag the client got, unquoted. */
  readonly md5Hex: string;
  /** The flexible checksum the client sent with the part (verified), if any. */
  readonly checksum?: { readonly algorithm: string; readonly base64: string } | undefined;
}

const STATE_FIELD = 'state';
const PART_PREFIX = 'part:';

/**
 * The upload state in Valkey: one hash per upload, `s3seal:mpu:{<uploadId>}` (the braces are a
 * Cluster hash tag, so an upload stays on one slot), with a TTL refreshed on every part. Every
 * failure is a 503 to the client: without the state a part cannot be sealed or recorded, and
 * the proxy never falls back to anything else.
 */
export class UploadStateStore {
  constructor(
    private readonly client: ValkeyClient,
    private readonly ttlSeconds: number,
    /** Valkey latency and errors per operation; none: not recorded. */
    private readonly metrics?: ProxyMetrics | undefined,
  ) {}

  async create(uploadId: string, state: UploadState): Promise<void> {
    const key = stateKey(uploadId);
    await this.exec('create', 'create', () =>
      this.client.multi().hset(key, STATE_FIELD, JSON.stringify(state)).expire(key, this.ttlSeconds).exec(),
    );
  }

  /** The upload's state, or undefined when there is none (never created, completed, aborted or expired). */
  async get(uploadId: string): Promise<UploadState | undefined> {
    const text = await this.run('read', 'get', () => this.client.hget(stateKey(uploadId), STATE_FIELD));
    return text === null ? undefined : parseState(uploadId, text);
  }

  /** Records a part (a retried part replaces the earlier record) and refreshes the TTL. */
  async recordPart(uploadId: string, partNumber: number, record: PartRecord): Promise<void> {
    const key = stateKey(uploadId);
    await this.exec('record part', 'record_part', () =>
      this.client
        .multi()
        .hset(key, `${PART_PREFIX}${partNumber}`, JSON.stringify(record))
        .expire(key, this.ttlSeconds)
        .exec(),
    );
  }

  /** Every recorded part, by part number. */
  async parts(uploadId: string): Promise<Map<number, PartRecord>> {
    const fields = await this.run('read parts', 'parts', () => this.client.hgetall(stateKey(uploadId)));
    const out = new Map<number, PartRecord>();
    for (const [name, value] of Object.entries(fields)) {
      if (!name.startsWith(PART_PREFIX)) continue;
      out.set(Number(name.slice(PART_PREFIX.length)), parsePart(uploadId, value));
    }
    return out;
  }

  async delete(uploadId: string): Promise<void> {
    await this.run('delete', 'delete', () => this.client.del(stateKey(uploadId)));
  }

  /** One Valkey call, timed (label `operation`); any failure is a 503 to the client. */
  private async run<T>(what: string, operation: string, op: () => Promise<T>): Promise<T> {
    const started = this.metrics ? performance.now() : 0;
    try {
      return await op();
    } catch (err: unknown) {
      this.metrics?.valkeyErrors.labels(operation).inc();
      throw unavailable(what, err);
    } finally {
      this.metrics?.valkeyDuration.labels(operation).observe((performance.now() - started) / 1000);
    }
  }

  /** A MULTI: one round trip; any command's error fails the whole call. */
  private async exec(
    what: string,
    operation: string,
    op: () => Promise<[Error | null, unknown][] | null>,
  ): Promise<void> {
    const results = await this.run(what, operation, op);
    const failed =
      results === null ? new Error('the transaction was discarded') : results.find(([e]) => e)?.[0];
    if (failed) {
      this.metrics?.valkeyErrors.labels(operation).inc();
      throw unavailable(what, failed);
    }
  }
}

export function stateKey(uploadId: string): string {
  return `s3seal:mpu:{${uploadId}}`;
}

function unavailable(what: string, err: unknown): S3Error {
  const reason = err instanceof Error ? err.message : String(err);
  return new S3Error(
    'ServiceUnavailable',
    `upload state store (Valkey) unavailable: ${what} failed (${reason})`,
    {
      cause: err,
    },
  );
}

function parseState(uploadId: string, text: string): UploadState {
  const value = parseJson(uploadId, text) as Partial<UploadState>;
  if (
    typeof value.bucket !== 'string' ||
    typeof value.key !== 'string' ||
    typeof value.createdAt !== 'string' ||
    typeof value.metadata !== 'object' ||
    value.metadata === null ||
    !Object.values(value.metadata).every((v) => typeof v === 'string')
  ) {
    throw unreadable(uploadId);
  }
  return value as UploadState;
}

function parsePart(uploadId: string, text: string): PartRecord {
  const value = parseJson(uploadId, text) as Partial<PartRecord>;
  if (
    !Number.isSafeInteger(value.plaintextSize) ||
    !Number.isSafeInteger(value.sealedSize) ||
    typeof value.upstreamEtag !== 'string' ||
    typeof value.md5Hex !== 'string' ||
    !/^[0-9a-f]{32}$/.test(value.md5Hex)
  ) {
    throw unreadable(uploadId);
  }
  return value as PartRecord;
}

function parseJson(uploadId: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err: unknown) {
    throw unreadable(uploadId, err);
  }
}

function unreadable(uploadId: string, cause?: unknown): S3Error {
  return new S3Error('InternalError', `the upload state of ${uploadId} in Valkey is not readable`, { cause });
}
