import { describe, expect, it } from '@jest/globals';
import { evaluateConditions } from './conditions.js';
import { clientEtag, etagAliases, listingEtag } from './etag.js';

describe('client ETags', () => {
  const md5 = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');
  it('are the plaintext MD5 when recorded, else never MD5-shaped', () => {
    expect(clientEtag(md5, '"ffff"')).toBe('"0123456789abcdef0123456789abcdef"');
    expect(clientEtag(undefined, '"d41d8cd98f00b204e9800998ecf8427e"')).toBe(
      '"d41d8cd98f00b204e9800998ecf8427e-1"',
    );
    expect(clientEtag(undefined, '"abc-3"')).toBe('"abc-3"');
    expect(listingEtag('"abc"')).toBe('"abc-1"');
  });

  it('match conditions under either form', () => {
    const aliases = etagAliases(md5, '"aaaa"');
    expect(evaluateConditions({ 'if-match': '"aaaa-1"' }, aliases, undefined)).toBe('proceed');
    expect(evaluateConditions({ 'if-match': '"0123456789abcdef0123456789abcdef"' }, aliases, undefined)).toBe(
      'proceed',
    );
    expect(evaluateConditions({ 'if-match': '"aaaa"' }, aliases, undefined)).toBe('precondition-failed');
  });
});
