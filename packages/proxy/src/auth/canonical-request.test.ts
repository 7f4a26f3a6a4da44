import { describe, expect, it } from '@jest/globals';
import {
  canonicalHeaderValue,
  canonicalQueryString,
  canonicalUris,
  parseQuery,
  percentDecode,
  uriEncodeBytes,
} from './canonical-request.js';
import type { RawRequest } from './types.js';

const encode = (text: string): string => uriEncodeBytes(Buffer.from(text, 'utf8'));

describe('canonical request pieces', () => {
  it('URI-encodes everything but A-Z a-z 0-9 - . _ ~, in upper-case hex', () => {
    expect(encode('AZaz09-._~')).toBe('AZaz09-._~');
    expect(encode("a b+c/d=e%f!'()*ü")).toBe('a%20b%2Bc%2Fd%3De%25f%21%27%28%29%2A%C3%BC');
  });

  it('percent-decodes leniently: stray % stays, + is a space only where asked', () => {
    expect(percentDecode('a%20b%2b+%zz%4', true).toString()).toBe('a b+ %zz%4');
    expect(percentDecode('a+b', false).toString()).toBe('a+b');
    expect(percentDecode('%ff', false)).toEqual(Buffer.from([0xff]));
  });

  it('parses the query: valueless names, "=" in values, empty parts', () => {
    expect(parseQuery('')).toEqual([]);
    const params = parseQuery('uploads&a=b=c&&prefix=x%2By+z&p=');
    expect(params.map((p) => [p.name, p.value])).toEqual([
      ['uploads', ''],
      ['a', 'b=c'],
      ['prefix', 'x+y z'],
      ['p', ''],
    ]);
    expect(params[2]?.canonicalValue).toBe('x%2By%20z');
  });

  it('sorts the canonical query by encoded name, then value, in byte order', () => {
    expect(canonicalQueryString(parseQuery('b=2&a=2&a=1&B=0&~=1&%41=9'))).toBe('A=9&B=0&a=1&a=2&b=2&~=1');
    expect(canonicalQueryString(parseQuery('X-Amz-Signature=s&x=1'), 'X-Amz-Signature')).toBe('x=1');
  });

  it('tries the path as sent, then its re-encoding when that cannot be read two ways', () => {
    expect(canonicalUris('')).toEqual(['/']);
    expect(canonicalUris('/b/a%20b')).toEqual(['/b/a%20b']);
    expect(canonicalUris('/b/test$file.text')).toEqual(['/b/test$file.text', '/b/test%24file.text']);
    expect(canonicalUris('/b/%7e%2f')).toEqual(['/b/%7e%2f', '/b/~%2F']);
    expect(canonicalUris('//a/../b/./')).toEqual(['//a/../b/./']);
    expect(canonicalUris('/b/a+b')).toEqual(['/b/a+b']);
    expect(canonicalUris('/b/100%')).toEqual(['/b/100%']);
    expect(canonicalUris('/b/%zz!')).toEqual(['/b/%zz!']);
  });

  it('canonicalises header values: trimmed, inner runs of space made one, repeats joined with ","', () => {
    const req: RawRequest = {
      method: 'GET',
      rawPath: '/',
      rawQuery: '',
      headers: { a: '  x   y\t z ', joined: 'v1, v2', cookie: 'c' },
      headersDistinct: { joined: ['v1', ' v2 '] },
    };
    expect(canonicalHeaderValue(req, 'a')).toBe('x y z');
    expect(canonicalHeaderValue(req, 'joined')).toBe('v1,v2');
    expect(canonicalHeaderValue({ ...req, headersDistinct: {} }, 'joined')).toBe('v1, v2');
    expect(canonicalHeaderValue(req, 'absent')).toBe('');
  });
});
