import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { Keyring } from './keyring.js';

const b64 = (): string => randomBytes(32).toString('base64');

describe('Keyring', () => {
  it('loads a Secret-shaped directory listing and ignores Kubernetes link entries', () => {
    const keyring = Keyring.fromEntries(
      'backups',
      new Map([
        ['v1', b64()],
        ['v2', `${b64()}\n`],
        ['active', 'v2\n'],
        ['..data', ''],
        ['..2026_11_22_04_00_00.123', ''],
      ]),
    );
    expect(keyring.id).toBe('backups');
    expect(keyring.activeVersion).toBe('v2');
    expect(keyring.versions()).toEqual(['v1', 'v2']);
    expect(keyring.activeKek().ref).toEqual({ keyringId: 'backups', version: 'v2' });
  });

  it('sorts versions numerically', () => {
    const keyring = Keyring.fromEntries(
      'default',
      new Map([
        ['v10', b64()],
        ['v9', b64()],
        ['v1', b64()],
        ['active', 'v10'],
      ]),
    );
    expect(keyring.versions()).toEqual(['v1', 'v9', 'v10']);
  });

  it('loads from environment-style variables', () => {
    const keyring = Keyring.fromEnv({
      S3SEAL_KEK_V1: b64(),
      S3SEAL_KEK_V2: b64(),
      S3SEAL_KEK_ACTIVE: 'v1',
      PATH: '/bin',
    });
    expect(keyring.id).toBe('default');
    expect(keyring.activeVersion).toBe('v1');
    expect(keyring.versions()).toEqual(['v1', 'v2']);
  });

  it.each([
    ['no active entry', new Map([['v1', b64()]])],
    [
      'an active version that is absent',
      new Map([
        ['v1', b64()],
        ['active', 'v2'],
      ]),
    ],
    [
      'a short key',
      new Map([
        ['v1', randomBytes(16).toString('base64')],
        ['active', 'v1'],
      ]),
    ],
    [
      'a key that is not base64',
      new Map([
        ['v1', 'not a key!'],
        ['active', 'v1'],
      ]),
    ],
  ])('rejects %s', (_why, entries) => {
    expect(() => Keyring.fromEntries('default', entries)).toThrow(
      expect.objectContaining({ code: 'S3SEAL_KEYRING_INVALID' }),
    );
  });

  it('names the missing version and the keyring mismatch', () => {
    const keyring = Keyring.fromEntries(
      'default',
      new Map([
        ['v1', b64()],
        ['active', 'v1'],
      ]),
    );
    expect(() => keyring.get({ keyringId: 'default', version: 'v7' })).toThrow(
      expect.objectContaining({
        code: 'S3SEAL_KEY_VERSION_UNKNOWN',
        message: expect.stringContaining('v7') as unknown,
      }),
    );
    expect(() => keyring.get({ keyringId: 'other', version: 'v1' })).toThrow(
      expect.objectContaining({ code: 'S3SEAL_KEYRING_MISMATCH' }),
    );
  });
});
