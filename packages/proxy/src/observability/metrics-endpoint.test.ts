import { describe, expect, it } from '@jest/globals';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ProxyMetrics } from '../metrics.js';
import { serveMetrics } from './metrics-endpoint.js';

describe('serveMetrics', () => {
  it('answers the registry in the Prometheus text format', async () => {
    const metrics = new ProxyMetrics();
    metrics.requests.labels('GetObject', '2xx').inc(3);
    const server = createServer((req, res) => serveMetrics(metrics.registry, req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      expect(text).toContain('s3seal_proxy_requests_total{operation="GetObject",status_class="2xx"} 3');
      expect(text).toContain('# TYPE s3seal_proxy_decrypt_failures_total counter');
      // No keyring given: the gauge has no series rather than a wrong one.
      expect(text).not.toMatch(/^s3seal_proxy_active_kek_version\{/m);
    } finally {
      server.close();
    }
  });
});
