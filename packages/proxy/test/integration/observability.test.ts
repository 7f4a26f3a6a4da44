// Metrics, access log and traces of a proxy in front of real MinIO (through a recording relay,
// to see the headers the proxy sends upstream) with a real redis-server for multipart state.
// Metrics are read the way Prometheus reads them, from /metrics on the operations listener,
// and compared before and after each piece of traffic. The log is the stack's own log file
// (stack.ts tees every proxy log line to .cache/proxy-logs/, and stop() scans it for secrets).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { SpanKind } from '@opentelemetry/api';
import { startMinio } from '@s3seal/testkit';
import type { MinioServer } from '@s3seal/testkit';
import { startTracing } from '../../src/observability/otel.js';
import type { Tracing } from '../../src/observability/otel.js';
import { startRecorder } from '../helpers/recorder.js';
import type { Recorder } from '../helpers/recorder.js';
import { findLeaks } from '../helpers/log-scan.js';
import { s3Error } from '../helpers/s3-error.js';
import { readRaw, recognisable, startStack } from '../helpers/stack.js';
import type { Stack } from '../helpers/stack.js';

let minio: MinioServer;
let recorder: Recorder;
let stack: Stack;
let tracing: Tracing | undefined;
const spans = new InMemorySpanExporter();
/** x-amz-request-id of every request this file sends through the proxy. */
const requestIds: string[] = [];

beforeAll(async () => {
  tracing = await startTracing({}, { exporter: spans });
  minio = await startMinio();
  recorder = await startRecorder(minio.endpoint);
  stack = await startStack({
    minio,
    valkey: true,
    env: { S3SEAL_UPSTREAM: recorder.url, S3SEAL_METRICS_LISTEN: '127.0.0.1:0' },
  });
  // Every answer's request id, to match the access log line for line.
  stack.client.middlewareStack.add(
    (next) => async (args) => {
      const out = await next(args);
      const id = (out.response as { headers?: Record<string, string> }).headers?.['x-amz-request-id'];
      if (id) requestIds.push(id);
      return out;
    },
    { step: 'deserialize', name: 'recordRequestId' },
  );
});

afterAll(async () => {
  await stack?.stop(); // fails here if the log holds a secret (log-scan.ts)
  await recorder?.close();
  await minio?.stop();
  await tracing?.shutdown();
});

/** One scrape of /metrics: series (name{labels}) → value. */
async function scrape(): Promise<Map<string, number>> {
  const res = await fetch(`${stack.proxy.healthUrl!}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  const series = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    series.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return series;
}

function delta(before: Map<string, number>, after: Map<string, number>, name: string): number {
  return (after.get(name) ?? 0) - (before.get(name) ?? 0);
}

async function put(key: string, body: Buffer): Promise<void> {
  await stack.client.send(new PutObjectCommand({ Bucket: stack.bucket, Key: key, Body: body }));
}

async function get(key: string, client: S3Client = stack.client): Promise<Buffer> {
  const out = await client.send(new GetObjectCommand({ Bucket: stack.bucket, Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

describe('metrics at /metrics', () => {
  it('count a PUT and a GET: requests, durations, client bytes, crypto time, upstream calls', async () => {
    const before = await scrape();
    const body = recognisable(200_000);
    await put('obs/plain', body);
    expect((await get('obs/plain')).equals(body)).toBe(true);
    const after = await scrape();

    const put2xx = 's3seal_proxy_requests_total{operation="PutObject",status_class="2xx"}';
    const get2xx = 's3seal_proxy_requests_total{operation="GetObject",status_class="2xx"}';
    expect(delta(before, after, put2xx)).toBe(1);
    expect(delta(before, after, get2xx)).toBe(1);
    expect(delta(before, after, 's3seal_proxy_request_duration_seconds_count{operation="PutObject"}')).toBe(
      1,
    );
    expect(delta(before, after, 's3seal_proxy_client_bytes_total{direction="in"}')).toBe(body.length);
    expect(delta(before, after, 's3seal_proxy_client_bytes_total{direction="out"}')).toBe(body.length);
    expect(delta(before, after, 's3seal_proxy_crypto_seconds_total{operation="encrypt"}')).toBeGreaterThan(0);
    expect(delta(before, after, 's3seal_proxy_crypto_seconds_total{operation="decrypt"}')).toBeGreaterThan(0);
    expect(
      delta(before, after, 's3seal_proxy_upstream_requests_total{status_class="2xx"}'),
    ).toBeGreaterThanOrEqual(2);
    expect(delta(before, after, 's3seal_proxy_upstream_duration_seconds_count')).toBeGreaterThanOrEqual(2);
    expect(after.get('s3seal_proxy_inflight_requests')).toBe(0);
    expect(after.get('s3seal_proxy_active_kek_version{keyring="default"}')).toBe(1);
    expect(after.has('s3seal_proxy_throttled_requests_total')).toBe(true);
    expect(after.has('s3seal_proxy_process_cpu_seconds_total')).toBe(true);
  });

  it('count a failed signature as an auth failure, by code', async () => {
    const before = await scrape();
    const wrong = new S3Client({
      endpoint: stack.proxy.url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: stack.minio.accessKeyId, secretAccessKey: 'not-the-secret-key' },
    });
    try {
      expect(
        await s3Error(
          wrong.send(new PutObjectCommand({ Bucket: stack.bucket, Key: 'obs/denied', Body: 'x' })),
        ),
      ).toEqual({ name: 'SignatureDoesNotMatch', status: 403 });
    } finally {
      wrong.destroy();
    }
    const after = await scrape();
    expect(delta(before, after, 's3seal_proxy_auth_failures_total{code="SignatureDoesNotMatch"}')).toBe(1);
    expect(
      delta(before, after, 's3seal_proxy_requests_total{operation="PutObject",status_class="4xx"}'),
    ).toBe(1);
    expect(delta(before, after, 's3seal_proxy_upstream_requests_total{status_class="2xx"}')).toBe(0);
  });

  it('count a stored object that fails authentication as a decrypt failure', async () => {
    const body = recognisable(1000);
    await put('obs/tampered', body);
    const stored = await readRaw(stack, 'obs/tampered');
    stored.body[10]! ^= 0x01;
    await stack.raw.send(
      new PutObjectCommand({
        Bucket: stack.bucket,
        Key: 'obs/tampered',
        Body: stored.body,
        Metadata: stored.metadata,
      }),
    );
    const once = new S3Client({
      endpoint: stack.proxy.url,
      region: 'us-east-1',
      forcePathStyle: true,
      maxAttempts: 1, // a 500 is retried by default: one read, one failure
      credentials: { accessKeyId: stack.minio.accessKeyId, secretAccessKey: stack.minio.secretAccessKey },
    });
    const before = await scrape();
    try {
      expect(await s3Error(get('obs/tampered', once))).toEqual({ name: 'DecryptionFailed', status: 500 });
    } finally {
      once.destroy();
    }
    const after = await scrape();
    expect(delta(before, after, 's3seal_proxy_decrypt_failures_total')).toBe(1);
    expect(
      delta(before, after, 's3seal_proxy_requests_total{operation="GetObject",status_class="5xx"}'),
    ).toBe(1);
  });

  it('time each Valkey operation of a multipart upload', async () => {
    const before = await scrape();
    const { Bucket, Key } = { Bucket: stack.bucket, Key: 'obs/multipart' };
    const parts = [recognisable(5 * 1024 * 1024), recognisable(1024, 'last part ')];
    const { UploadId } = await stack.client.send(new CreateMultipartUploadCommand({ Bucket, Key }));
    const etags: string[] = [];
    for (const [index, part] of parts.entries()) {
      const out = await stack.client.send(
        new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: index + 1, Body: part }),
      );
      etags.push(out.ETag!);
    }
    await stack.client.send(
      new CompleteMultipartUploadCommand({
        Bucket,
        Key,
        UploadId,
        MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
      }),
    );
    expect((await get(Key)).equals(Buffer.concat(parts))).toBe(true);
    const after = await scrape();
    const valkey = (op: string): number =>
      delta(before, after, `s3seal_proxy_valkey_duration_seconds_count{operation="${op}"}`);
    expect(valkey('create')).toBe(1);
    expect(valkey('record_part')).toBe(2);
    expect(valkey('get')).toBeGreaterThanOrEqual(3);
    expect(valkey('parts')).toBeGreaterThanOrEqual(1);
    expect(valkey('delete')).toBe(1);
    expect(after.get('s3seal_proxy_valkey_errors_total{operation="create"}') ?? 0).toBe(0);
    expect(
      delta(before, after, 's3seal_proxy_requests_total{operation="UploadPart",status_class="2xx"}'),
    ).toBe(2);
    expect(delta(before, after, 's3seal_proxy_client_bytes_total{direction="in"}')).toBeGreaterThanOrEqual(
      parts[0]!.length + parts[1]!.length,
    );
  });
});

describe('traces', () => {
  it("make the client's traceparent the parent of the server span, with a client span per upstream call", async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const parentSpanId = 'b7ad6b7169203331';
    const traced = new S3Client({
      endpoint: stack.proxy.url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: stack.minio.accessKeyId, secretAccessKey: stack.minio.secretAccessKey },
    });
    // Added before signing: the client signs traceparent like any header.
    traced.middlewareStack.add(
      (next) => (args) => {
        (args.request as { headers: Record<string, string> }).headers['traceparent'] =
          `00-${traceId}-${parentSpanId}-01`;
        return next(args);
      },
      { step: 'build', name: 'traceparent' },
    );
    const recorded = recorder.exchanges.length;
    spans.reset();
    try {
      expect((await get('obs/plain', traced)).length).toBe(200_000);
    } finally {
      traced.destroy();
    }
    const finished = spans.getFinishedSpans();
    const server = finished.find((s: ReadableSpan) => s.kind === SpanKind.SERVER);
    expect(server).toBeDefined();
    expect(server!.name).toBe('GetObject');
    expect(server!.spanContext().traceId).toBe(traceId);
    expect(server!.parentSpanContext?.spanId).toBe(parentSpanId);
    expect(server!.attributes['http.request.method']).toBe('GET');
    expect(server!.attributes['http.response.status_code']).toBe(200);
    expect(server!.attributes['aws.s3.bucket']).toBe(stack.bucket);
    expect(JSON.stringify(server!.attributes)).not.toContain('obs/plain');
    const clients = finished.filter((s: ReadableSpan) => s.kind === SpanKind.CLIENT);
    expect(clients.length).toBeGreaterThanOrEqual(1);
    for (const span of clients) {
      expect(span.spanContext().traceId).toBe(traceId);
      expect(span.parentSpanContext?.spanId).toBe(server!.spanContext().spanId);
    }
    // What MinIO received: a traceparent of the same trace, naming one of the client spans.
    const upstream = recorder.exchanges.slice(recorded);
    expect(upstream.length).toBeGreaterThanOrEqual(1);
    for (const exchange of upstream) {
      const header = String(exchange.headers['traceparent']);
      const [, sentTrace, sentSpan] = header.split('-');
      expect(sentTrace).toBe(traceId);
      expect(clients.map((s) => s.spanContext().spanId)).toContain(sentSpan);
    }
    // The access log line of that request carries the ids.
    const line = (await requestLines()).find((l) => l['trace_id'] === traceId);
    expect(line).toMatchObject({ operation: 'GetObject', span_id: server!.spanContext().spanId });
  });
});

/** The stack's access-log lines (msg "request"). */
async function requestLines(): Promise<Record<string, unknown>[]> {
  const text = await readFile(stack.logFile!, 'utf8');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line['msg'] === 'request');
}

describe('access log', () => {
  it('has exactly one JSON line per request, with its fields and nothing secret', async () => {
    const lines = await requestLines();
    // Every request the proxy served, counted by /metrics, has one line, and no more.
    const metrics = await scrape();
    let served = 0;
    for (const [name, value] of metrics) if (name.startsWith('s3seal_proxy_requests_total{')) served += value;
    expect(lines.length).toBe(served);
    const ids = lines.map((l) => l['requestId']);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of requestIds) expect(ids.filter((x) => x === id)).toHaveLength(1);

    const putLine = lines.find((l) => l['operation'] === 'PutObject' && l['status'] === 200);
    expect(putLine).toMatchObject({
      level: 30,
      method: 'PUT',
      bucket: stack.bucket,
      bytesIn: 200_000,
      bytesOut: 0,
    });
    expect(typeof putLine!['durationMs']).toBe('number');
    const denied = lines.find((l) => l['code'] === 'SignatureDoesNotMatch');
    expect(denied).toMatchObject({ operation: 'PutObject', status: 403, level: 30 });
    const tampered = lines.find((l) => l['code'] === 'DecryptionFailed');
    expect(tampered).toMatchObject({ operation: 'GetObject', status: 500, level: 50 });
    // No key, URL, query or header in any request line.
    for (const line of lines) {
      const text = JSON.stringify(line);
      expect(text).not.toMatch(/obs\/|authorization|x-amz-|Signature=|Credential=/i);
    }
    expect(findLeaks(await readFile(stack.logFile!, 'utf8'), stack.secrets)).toEqual([]);
  });

  it('the scanner that stop() runs finds planted secrets (it is not vacuous)', () => {
    const planted = [
      JSON.stringify({ msg: 'x', url: '/b/k?X-Amz-Signature=abc' }),
      JSON.stringify({
        msg: 'x',
        auth: 'AWS4-HMAC-SHA256 Credential=AKIA/20260101/us-east-1/s3/aws4_request',
      }),
      JSON.stringify({ msg: 'x', sig: 'a'.repeat(64) }),
      JSON.stringify({ msg: 'x', err: `bad password ${stack.secrets['the MinIO secret key']}` }),
    ].join('\n');
    expect(findLeaks(planted, stack.secrets).map((l) => l.line)).toEqual([1, 2, 3, 4]);
  });
});
