import { describe, expect, it } from '@jest/globals';
import { parseS3Url } from './s3-url.js';

describe('parseS3Url', () => {
  it('splits bucket and key, keeping the key as written', () => {
    expect(parseS3Url('s3://b/a/b c.txt', { isKeyRequired: true })).toEqual({
      bucket: 'b',
      key: 'a/b c.txt',
    });
    expect(parseS3Url('s3://b', { isKeyRequired: false })).toEqual({ bucket: 'b', key: '' });
    expect(parseS3Url('s3://b/', { isKeyRequired: false })).toEqual({ bucket: 'b', key: '' });
  });

  it('refuses other URLs, and a bare bucket where a key is needed', () => {
    for (const text of ['b/k', 'http://b/k', 's3:///k']) {
      expect(() => parseS3Url(text, { isKeyRequired: false })).toThrow(
        expect.objectContaining({ code: 'S3SEAL_CLI_USAGE' }),
      );
    }
    expect(() => parseS3Url('s3://b/', { isKeyRequired: true })).toThrow(
      expect.objectContaining({ code: 'S3SEAL_CLI_USAGE' }),
    );
  });
});
