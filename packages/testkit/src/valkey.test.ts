import { describe, expect, it } from '@jest/globals';

import { parseValkeyUrl } from './valkey.js';

describe('parseValkeyUrl', () => {
  it.each([
    ['redis://127.0.0.1:6380', { host: '127.0.0.1', port: 6380 }],
    ['redis://valkey.example', { host: 'valkey.example', port: 6379 }],
    ['rediss://user:pass@[::1]:7000/0', { host: '::1', port: 7000 }],
  ])('parses %s', (url, expected) => {
    expect(parseValkeyUrl(url)).toEqual(expected);
  });

  it.each(['not a url', 'http://127.0.0.1:6379'])('refuses %s', (url) => {
    expect(errorOf(() => parseValkeyUrl(url))).toMatchObject({ code: 'S3SEAL_RIG_BAD_VALKEY_URL' });
  });
});

function errorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err: unknown) {
    return err;
  }
  return undefined;
}
