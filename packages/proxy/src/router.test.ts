import { describe, expect, it } from '@jest/globals';
import { refineCopy, routeRequest } from './router.js';
import { parseRequestTarget } from './s3/request-target.js';

const route = (method: string, url: string, host = '127.0.0.1:8080'): string =>
  routeRequest(method, parseRequestTarget(url, host, ['localhost']));

describe('routing', () => {
  it.each([
    ['GET', '/', 'ListBuckets'],
    ['GET', '/b', 'ListObjects'],
    ['GET', '/b?prefix=a%2F&delimiter=%2F', 'ListObjects'],
    ['GET', '/b?list-type=2&prefix=x', 'ListObjectsV2'],
    ['GET', '/b?versions', 'ListObjectVersions'],
    ['GET', '/b?uploads', 'ListMultipartUploads'],
    ['GET', '/b?policy', 'ForwardBucket'],
    ['GET', '/b?location', 'ForwardBucket'],
    ['PUT', '/b', 'ForwardBucket'],
    ['POST', '/b?delete', 'DeleteObjects'],
    ['POST', '/b', 'PostObject'],
    ['GET', '/b/k', 'GetObject'],
    ['GET', '/b/k?versionId=1&response-content-type=text%2Fplain', 'GetObject'],
    ['GET', '/b/k?tagging', 'ForwardObject'],
    ['GET', '/b/k?attributes', 'GetObjectAttributes'],
    ['GET', '/b/k?uploadId=u', 'ListParts'],
    ['HEAD', '/b/k', 'HeadObject'],
    ['PUT', '/b/k', 'PutObject'],
    ['PUT', '/b/k?tagging', 'ForwardObject'],
    ['PUT', '/b/k?partNumber=1&uploadId=u', 'UploadPart'],
    ['POST', '/b/k?uploads', 'CreateMultipartUpload'],
    ['POST', '/b/k?uploadId=u', 'CompleteMultipartUpload'],
    ['POST', '/b/k?select&select-type=2', 'SelectObjectContent'],
    ['POST', '/b/k?restore', 'ForwardObject'],
    ['DELETE', '/b/k', 'DeleteObject'],
    ['DELETE', '/b/k?uploadId=u', 'AbortMultipartUpload'],
  ])('%s %s → %s', (method, url, action) => {
    expect(route(method, url)).toBe(action);
  });

  it('tells copies apart by their header', () => {
    expect(refineCopy('PutObject', true)).toBe('CopyObject');
    expect(refineCopy('UploadPart', true)).toBe('UploadPartCopy');
    expect(refineCopy('PutObject', false)).toBe('PutObject');
  });
});

describe('request targets', () => {
  it('decodes path-style keys exactly', () => {
    const t = parseRequestTarget('/bucket/a%20b/c%2Bd/%E2%82%AC/x+y', 'h', []);
    expect(t.bucket).toBe('bucket');
    expect(t.key).toBe('a b/c+d/€/x+y');
  });

  it('keeps empty path segments and dots in keys', () => {
    expect(parseRequestTarget('/b/a//b/../c', 'h', []).key).toBe('a//b/../c');
  });

  it('reads virtual-hosted-style buckets', () => {
    const t = parseRequestTarget('/some/key', 'my-bucket.localhost:8080', ['localhost']);
    expect(t).toMatchObject({ bucket: 'my-bucket', key: 'some/key', isVirtualHosted: true });
  });

  it('refuses repeated query parameters and broken escapes', () => {
    expect(() => parseRequestTarget('/b?prefix=a&prefix=b', 'h', [])).toThrow(
      expect.objectContaining({ code: 'InvalidArgument' }),
    );
    expect(() => parseRequestTarget('/b/%E2%82', 'h', [])).toThrow(
      expect.objectContaining({ code: 'InvalidURI' }),
    );
  });
});
