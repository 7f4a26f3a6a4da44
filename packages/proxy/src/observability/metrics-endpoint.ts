import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';

/** The path the operations listener serves the metrics on. */
export const METRICS_PATH = '/metrics';

/**
 * Answers a Prometheus scrape from a registry (GET or HEAD), in the text exposition format.
 * For the operations listener (health-server.ts): `if (path === METRICS_PATH) return
 * serveMetrics(registry, req, res)`. A collection failure answers 500 with its message.
 */
export function serveMetrics(registry: Registry, req: IncomingMessage, res: ServerResponse): void {
  registry.metrics().then(
    (text) => {
      res.writeHead(200, {
        'content-type': registry.contentType,
        'content-length': Buffer.byteLength(text),
      });
      res.end(req.method === 'HEAD' ? undefined : text);
    },
    (err: unknown) => {
      const text = `metrics collection failed: ${err instanceof Error ? err.message : String(err)}\n`;
      res.writeHead(500, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) });
      res.end(req.method === 'HEAD' ? undefined : text);
    },
  );
}
