import type { IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { SecureVersion } from 'node:tls';

import { afterEach, describe, expect, it } from '@jest/globals';
import { pino, type Logger } from 'pino';

import type { AdmissionHandler, AdmissionRequest } from './admission-review.js';
import { AdmissionServer, type AdmissionServerOptions } from './admission-server.js';
import { type CertifiedKey, createCertificateAuthority, issueServingCertificate } from './certificates.js';

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

interface RequestOptions {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  maxVersion?: SecureVersion;
}

const HOSTS = { dnsNames: ['s3seal-webhook.test.svc'], ipAddresses: ['127.0.0.1'] };
const REQUEST: AdmissionRequest = {
  uid: '9d3c4a30-0000-4000-8000-000000000001',
  kind: { group: '', version: 'v1', kind: 'Pod' },
  resource: { group: '', version: 'v1', resource: 'pods' },
  namespace: 'apps',
  operation: 'CREATE',
  userInfo: { username: 'admin' },
  object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } },
};
const REVIEW = JSON.stringify({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: REQUEST,
});

const servers: AdmissionServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function mintPair(): Promise<{ caPem: string; pair: CertifiedKey }> {
  const ca = await createCertificateAuthority();
  return { caPem: ca.certPem, pair: await issueServingCertificate(ca, HOSTS) };
}

function capturingLogger(): { log: Logger; lines: () => Record<string, unknown>[] } {
  const lines: string[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
  return { log, lines: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

async function startServer(
  handler: AdmissionHandler,
  options: Partial<AdmissionServerOptions> = {},
): Promise<{ port: number; caPem: string; server: AdmissionServer }> {
  const { caPem, pair } = await mintPair();
  const server = new AdmissionServer({
    handler,
    log: pino({ level: 'silent' }),
    certificate: pair,
    ...options,
  });
  servers.push(server);
  const { port } = await server.listen(0, '127.0.0.1');
  return { port, caPem, server };
}

function send(port: number, caPem: string, options: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        ca: caPem,
        method: options.method ?? 'POST',
        path: options.path ?? '/mutate-pods?timeout=10s',
        headers: options.headers ?? { 'content-type': 'application/json' },
        // A fresh connection per request, so each one does its own handshake.
        agent: false,
        ...(options.maxVersion === undefined ? {} : { maxVersion: options.maxVersion }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body ?? (options.method === 'GET' ? undefined : REVIEW));
  });
}

function responseOf(reply: Reply): Record<string, unknown> {
  expect(reply.status).toBe(200);
  expect(reply.headers['content-type']).toBe('application/json');
  const review = JSON.parse(reply.body) as {
    apiVersion: string;
    kind: string;
    response: Record<string, unknown>;
  };
  expect(review.apiVersion).toBe('admission.k8s.io/v1');
  expect(review.kind).toBe('AdmissionReview');
  return review.response;
}

describe('AdmissionServer', () => {
  it('passes the request to the handler and answers with the base64 JSON patch', async () => {
    const seen: AdmissionRequest[] = [];
    const patch = [
      { op: 'add' as const, path: '/metadata/annotations', value: { 's3seal.io/status': 'injected' } },
    ];
    const { port, caPem } = await startServer((request) => {
      seen.push(request);
      return Promise.resolve({ allowed: true, patch, warnings: ['w'] });
    });

    const response = responseOf(await send(port, caPem));

    expect(seen).toEqual([REQUEST]);
    expect(response).toEqual({
      uid: REQUEST.uid,
      allowed: true,
      patchType: 'JSONPatch',
      patch: Buffer.from(JSON.stringify(patch)).toString('base64'),
      warnings: ['w'],
    });
  });

  it('answers an allowed request without a patch without patchType', async () => {
    const { port, caPem } = await startServer(() => Promise.resolve({ allowed: true }));

    expect(responseOf(await send(port, caPem))).toEqual({ uid: REQUEST.uid, allowed: true });
  });

  it('relays a denial with its status', async () => {
    const { port, caPem } = await startServer(() =>
      Promise.resolve({
        allowed: false,
        status: { code: 403, reason: 'Forbidden', message: 'no such policy' },
      }),
    );

    expect(responseOf(await send(port, caPem))).toEqual({
      uid: REQUEST.uid,
      allowed: false,
      status: { code: 403, reason: 'Forbidden', message: 'no such policy', status: 'Failure' },
    });
  });

  it('denies with 500 and logs the cause when the handler throws (fail closed)', async () => {
    const { log, lines } = capturingLogger();
    const { port, caPem } = await startServer(() => Promise.reject(new Error('policy cache exploded')), {
      log,
    });

    const response = responseOf(await send(port, caPem));

    expect(response.allowed).toBe(false);
    expect(response.status).toMatchObject({ code: 500, reason: 'InternalError', status: 'Failure' });
    expect((response.status as { message: string }).message).toContain(REQUEST.uid);
    expect((response.status as { message: string }).message).not.toContain('exploded');
    const logged = lines().find((line) => line.msg === 'admission handler failed');
    expect(logged).toMatchObject({ uid: REQUEST.uid, err: { message: 'policy cache exploded' } });
  });

  it('denies with 500 when the handler runs out of time', async () => {
    const { port, caPem } = await startServer(() => new Promise(() => undefined), { handlerTimeoutMs: 200 });

    const response = responseOf(await send(port, caPem));

    expect(response.allowed).toBe(false);
    expect(response.status).toMatchObject({ code: 500 });
  });

  it('serves /healthz', async () => {
    const { port, caPem } = await startServer(() => Promise.resolve({ allowed: true }));

    const reply = await send(port, caPem, { method: 'GET', path: '/healthz' });

    expect(reply.status).toBe(200);
  });

  it.each<[string, RequestOptions, number]>([
    ['an unknown path', { path: '/validate' }, 404],
    ['GET on the review path', { method: 'GET' }, 405],
    ['POST on /healthz', { path: '/healthz' }, 405],
    ['a non-JSON content type', { headers: { 'content-type': 'text/plain' } }, 415],
    ['no content type', { headers: {} }, 415],
    ['invalid JSON', { body: '{"apiVersion":' }, 400],
    ['JSON that is not an AdmissionReview', { body: '{"kind":"Pod"}' }, 400],
    [
      'a v1beta1 review',
      {
        body: JSON.stringify({
          apiVersion: 'admission.k8s.io/v1beta1',
          kind: 'AdmissionReview',
          request: REQUEST,
        }),
      },
      400,
    ],
    ['a body over the limit', { body: Buffer.alloc(5000, 0x20) }, 413],
    [
      'a chunked body over the limit',
      {
        body: Buffer.alloc(5000, 0x20),
        headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      },
      413,
    ],
  ])('refuses %s', async (_name, options, status) => {
    let calls = 0;
    const { port, caPem } = await startServer(
      () => {
        calls += 1;
        return Promise.resolve({ allowed: true });
      },
      { maxBodyBytes: 4096 },
    );

    const reply = await send(port, caPem, options);

    expect(reply.status).toBe(status);
    expect(calls).toBe(0);
    if (status === 405) expect(reply.headers.allow).toBeDefined();
  });

  it('accepts a body right at the limit', async () => {
    const body = REVIEW.padEnd(4096, ' ');
    const { port, caPem } = await startServer(() => Promise.resolve({ allowed: true }), {
      maxBodyBytes: 4096,
    });

    expect(responseOf(await send(port, caPem, { body })).allowed).toBe(true);
  });

  it('refuses TLS older than 1.2', async () => {
    const { port, caPem } = await startServer(() => Promise.resolve({ allowed: true }));

    await expect(send(port, caPem, { maxVersion: 'TLSv1.1' })).rejects.toThrow();
  });

  it('swaps its certificate without a restart', async () => {
    const { port, caPem: ca1, server } = await startServer(() => Promise.resolve({ allowed: true }));
    const { caPem: ca2, pair: pair2 } = await mintPair();
    await expect(send(port, ca2)).rejects.toThrow();

    server.setCertificate(pair2);

    expect(responseOf(await send(port, ca2)).allowed).toBe(true);
    await expect(send(port, ca1)).rejects.toThrow();
  });

  it('keeps serving the old certificate when handed a mismatched pair', async () => {
    const { port, caPem, server } = await startServer(() => Promise.resolve({ allowed: true }));
    const { pair: other } = await mintPair();
    const { pair: another } = await mintPair();

    expect(() => server.setCertificate({ certPem: other.certPem, keyPem: another.keyPem })).toThrow();

    expect(responseOf(await send(port, caPem)).allowed).toBe(true);
  });
});
