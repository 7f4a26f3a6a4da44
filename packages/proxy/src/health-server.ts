import { createServer } from 'node:http';
import type { Server, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { METRICS_PATH, serveMetrics } from './observability/metrics-endpoint.js';

/** One dependency's state, as /readyz reports it. */
export interface DependencyCheck {
  readonly ok: boolean;
  readonly detail?: string;
}

export type ReadinessChecks = Readonly<Record<string, () => DependencyCheck>>;

/**
 * The operations listener: `/healthz` answers while the process serves at all (liveness: a
 * restart would not help otherwise), `/readyz` only when every dependency a request needs is
 * there (readiness: keep traffic away until then). Both answer JSON, per dependency, so a
 * failing probe says what is missing. Kept off the S3 listener so probes never need SigV4.
 */
export function createHealthServer(checks: ReadinessChecks, metrics?: Registry): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      reply(res, 200, { status: 'ok' });
      return;
    }
    if (path === '/readyz') {
      const results: Record<string, DependencyCheck> = {};
      let isReady = true;
      for (const [name, check] of Object.entries(checks)) {
        let result: DependencyCheck;
        try {
          result = check();
        } catch (err: unknown) {
          result = { ok: false, detail: (err as Error).message };
        }
        results[name] = result;
        isReady &&= result.ok;
      }
      reply(res, isReady ? 200 : 503, { status: isReady ? 'ready' : 'not ready', checks: results });
      return;
    }
    if (metrics && path === METRICS_PATH) {
      serveMetrics(metrics, req, res);
      return;
    }
    reply(res, 404, {
      status: 'not found',
      paths: metrics ? ['/healthz', '/readyz', METRICS_PATH] : ['/healthz', '/readyz'],
    });
  });
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
