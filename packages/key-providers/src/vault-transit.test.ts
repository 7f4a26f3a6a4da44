import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { VaultTransitSource } from './vault-transit.js';

// What goes over the wire to Vault, seen by a loopback server (the integration suite runs a real
// Vault; Vault OSS has no namespaces, so the header is checked here).
describe('VaultTransitSource requests', () => {
  let server: Server;
  let address = '';
  const seen: { url: string; headers: IncomingHttpHeaders; body: Record<string, unknown> }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        seen.push({
          url: req.url ?? '',
          headers: req.headers,
          body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
        });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ data: { ciphertext: `vault:v7:${Buffer.alloc(60, 1).toString('base64')}` } }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('sends the token, the namespace and the context as associated data, and reads the version', async () => {
    const source = await VaultTransitSource.create({
      id: 'vault',
      address,
      mount: '/team-a/transit/',
      key: 'backups',
      namespace: 'team-a',
      auth: { method: 'token', token: 'hvs.t' },
    });
    try {
      const wrapped = await source.wrap(Buffer.alloc(32, 9), {
        bucket: 'b',
        bindingDigest: Buffer.alloc(32),
      });
      expect(wrapped).toEqual({ version: 'v7', wrapped: Buffer.alloc(60, 1) });
      expect(source.isActiveVersion('v7')).toBe(true);
      const [request] = seen;
      expect(request?.url).toBe('/v1/team-a/transit/encrypt/backups');
      expect(request?.headers['x-vault-token']).toBe('hvs.t');
      expect(request?.headers['x-vault-namespace']).toBe('team-a');
      expect(request?.body).toEqual({
        plaintext: Buffer.alloc(32, 9).toString('base64'),
        associated_data: expect.any(String),
      });
    } finally {
      await source.close();
    }
  });
});
