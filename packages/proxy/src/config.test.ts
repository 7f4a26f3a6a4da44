import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from './config.js';
import { OPTIONS } from './config-options.js';

const BASE = {
  S3SEAL_UPSTREAM: 'http://127.0.0.1:9000',
  AWS_ACCESS_KEY_ID: 'AK',
  AWS_SECRET_ACCESS_KEY: 'SK',
  S3SEAL_KEK_DIR: '/keys',
};

function problems(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (err: unknown) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('proxy configuration', () => {
  it('applies defaults', () => {
    const config = loadConfig([], BASE);
    expect(config.listenHost).toBe('127.0.0.1');
    expect(config.listenPort).toBe(8080);
    expect(config.chunkSize).toBe(65536);
    expect(config.legacy).toBe('reject');
    expect(config.buckets).toEqual(['*']);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('lets flags win over the environment and the environment over the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 's3seal-config-'));
    const file = join(dir, 'proxy.yaml');
    writeFileSync(file, 'region: from-file\nchunkSize: 131072\nlegacy: passthrough\nbuckets: [a, "b*"]\n');
    const config = loadConfig(['--config', file, '--region', 'from-flag'], {
      ...BASE,
      S3SEAL_CHUNK_SIZE: '32768',
    });
    expect(config.region).toBe('from-flag');
    expect(config.chunkSize).toBe(32768);
    expect(config.legacy).toBe('passthrough');
    expect(config.buckets).toEqual(['a', 'b*']);
  });

  it('reports every problem at once', () => {
    const found = problems(() =>
      loadConfig([], { S3SEAL_LISTEN: 'nowhere', S3SEAL_LEGACY: 'maybe', S3SEAL_CHUNK_SIZE: 'big' }),
    );
    expect(found.length).toBeGreaterThanOrEqual(5);
    expect(found.join('\n')).toMatch(/listen/);
    expect(found.join('\n')).toMatch(/upstream is required/);
    expect(found.join('\n')).toMatch(/credentials/);
    expect(found.join('\n')).toMatch(/keyring/);
    expect(found.join('\n')).toMatch(/S3SEAL_LEGACY/);
  });

  it('refuses plain http to a non-loopback upstream unless told', () => {
    expect(
      problems(() => loadConfig([], { ...BASE, S3SEAL_UPSTREAM: 'http://minio.storage:9000' })),
    ).toHaveLength(1);
    expect(
      loadConfig([], {
        ...BASE,
        S3SEAL_UPSTREAM: 'http://minio.storage:9000',
        S3SEAL_INSECURE_UPSTREAM: 'true',
      }).insecureUpstream,
    ).toBe(true);
  });

  it('refuses unknown keys in a config file', () => {
    const dir = mkdtempSync(join(tmpdir(), 's3seal-config-'));
    const file = join(dir, 'proxy.json');
    writeFileSync(file, JSON.stringify({ chunksize: 1 }));
    expect(problems(() => loadConfig(['--config', file], BASE)).join()).toMatch(/unknown key "chunksize"/);
  });

  it('never prints secrets', () => {
    const config = loadConfig([], BASE);
    expect(JSON.stringify(config)).not.toContain('"SK"');
    expect(String(config.secretAccessKey)).toBe('[redacted]');
  });

  it('documents every option in packages/proxy/README.md', () => {
    const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
    for (const option of OPTIONS) {
      expect([
        option.env,
        readme.includes(`\`${option.env}\``) && readme.includes(`\`${option.key}\``),
      ]).toEqual([option.env, true]);
    }
  });
});

describe('multipart and Valkey configuration', () => {
  it('refuses multipart without a Valkey URL, and encrypts it with one', () => {
    expect(loadConfig([], BASE).multipart).toBeUndefined();
    const config = loadConfig([], { ...BASE, S3SEAL_VALKEY_URL: 'redis://:pw@127.0.0.1:6379/0' });
    expect(config.multipart).toMatchObject({ ttlSeconds: 604800, isValkeyRequired: true });
    expect(JSON.stringify(config)).not.toContain('pw');
    expect(
      loadConfig([], { ...BASE, S3SEAL_VALKEY_URL: 'redis://127.0.0.1', S3SEAL_MULTIPART: 'refuse' })
        .multipart,
    ).toBeUndefined();
  });

  it('reports inconsistent Valkey options, without echoing the URL', () => {
    const found = problems(() =>
      loadConfig([], {
        ...BASE,
        S3SEAL_MULTIPART: 'encrypt',
        S3SEAL_VALKEY_URL: 'http://user:hunter2@valkey:6379',
        S3SEAL_VALKEY_SENTINELS: 's1:26379,nonsense',
        S3SEAL_VALKEY_CLUSTER: 'true',
        S3SEAL_VALKEY_TLS_CA_FILE: '/ca.pem',
        S3SEAL_MULTIPART_TTL_SECONDS: '5',
      }),
    ).join('\n');
    for (const pattern of [
      /redis:\/\//,
      /sentinel "nonsense"/,
      /SENTINEL_NAME/,
      /exclude/,
      /rediss/,
      /at least 60/,
    ]) {
      expect(found).toMatch(pattern);
    }
    expect(found).not.toContain('hunter2');
    expect(problems(() => loadConfig([], { ...BASE, S3SEAL_MULTIPART: 'encrypt' })).join()).toMatch(
      /S3SEAL_VALKEY_URL/,
    );
  });
});

describe('limits, shutdown and TLS configuration', () => {
  it('applies the defaults', () => {
    expect(loadConfig([], BASE)).toMatchObject({
      maxInflight: 256,
      maxHeaderBytes: 16384,
      idleTimeoutSeconds: 60,
      requestTimeoutSeconds: 0,
      shutdownGraceSeconds: 25,
      tls: undefined,
      upstreamCaFile: undefined,
    });
  });

  it('takes a TLS pair only whole, and an upstream CA only for https', () => {
    const config = loadConfig(['--tls-cert-file', '/c.pem'], { ...BASE, S3SEAL_TLS_KEY_FILE: '/k.pem' });
    expect(config.tls).toEqual({ certFile: '/c.pem', keyFile: '/k.pem' });
    expect(problems(() => loadConfig([], { ...BASE, S3SEAL_TLS_CERT_FILE: '/c.pem' }))).toEqual([
      expect.stringContaining('S3SEAL_TLS_KEY_FILE'),
    ]);
    expect(problems(() => loadConfig([], { ...BASE, S3SEAL_UPSTREAM_CA_FILE: '/ca.pem' }))).toEqual([
      expect.stringContaining('https'),
    ]);
    expect(
      loadConfig([], { ...BASE, S3SEAL_UPSTREAM: 'https://s3.example', S3SEAL_UPSTREAM_CA_FILE: '/ca.pem' })
        .upstreamCaFile,
    ).toBe('/ca.pem');
  });

  it('refuses limits that would stop every request', () => {
    expect(
      problems(() =>
        loadConfig([], {
          ...BASE,
          S3SEAL_MAX_INFLIGHT: '0',
          S3SEAL_MAX_HEADER_BYTES: '100',
          S3SEAL_IDLE_TIMEOUT_SECONDS: '0',
        }),
      ),
    ).toHaveLength(3);
  });
});
