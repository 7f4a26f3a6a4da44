import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { loadBackendConfig, loadKeyring } from './config.js';

const args = { 'path-style': true };

describe('config', () => {
  it('takes the backend from flags first, then the standard AWS variables', () => {
    const env = {
      AWS_ENDPOINT_URL: 'http://env:9000',
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'id',
      AWS_SECRET_ACCESS_KEY: 'secret',
    };
    expect(loadBackendConfig(args, env)).toEqual({
      endpoint: 'http://env:9000',
      region: 'eu-west-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'id', secretAccessKey: 'secret' },
    });
    expect(loadBackendConfig({ ...args, endpoint: 'http://flag:1', region: 'r' }, env)).toMatchObject({
      endpoint: 'http://flag:1',
      region: 'r',
    });
    expect(loadBackendConfig(args, {})).toEqual({
      endpoint: undefined,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: undefined,
    });
    expect(() => loadBackendConfig(args, { AWS_ACCESS_KEY_ID: 'id' })).toThrow(
      expect.objectContaining({ code: 'S3SEAL_CLI_USAGE' }),
    );
  });

  it('reads a keyring from S3SEAL_KEK_* when no directory is named, and requires one where asked', async () => {
    const env = {
      S3SEAL_KEK_V1: randomBytes(32).toString('base64'),
      S3SEAL_KEK_ACTIVE: 'v1',
      S3SEAL_KEYRING_ID: 'k',
    };
    const keyring = await loadKeyring(args, { isRequired: true }, env);
    expect(keyring?.id).toBe('k');
    expect(keyring?.activeVersion).toBe('v1');
    await expect(loadKeyring(args, { isRequired: false }, {})).resolves.toBeUndefined();
    await expect(loadKeyring(args, { isRequired: true }, {})).rejects.toMatchObject({
      code: 'S3SEAL_CLI_USAGE',
    });
  });
});
