import { describe, expect, it } from '@jest/globals';
import { describeLayout } from '@s3seal/core';
import { LayoutCache } from './layout-cache.js';
import type { KnownLayout } from './layout-cache.js';

const known = (size: number): KnownLayout => ({
  layout: describeLayout(16, [{ plaintextSize: size, headerBytes: 32 }]),
  isExact: true,
  headers: new Map(),
});

describe('LayoutCache', () => {
  it('keys by bucket, key and ETag', () => {
    const cache = new LayoutCache();
    cache.set('b', 'k', '"e-2"', known(1));
    expect(cache.get('b', 'k', '"e-2"')?.layout.plaintextSize).toBe(1);
    expect(cache.get('b', 'k', '"f-2"')).toBeUndefined();
    expect(cache.get('c', 'k', '"e-2"')).toBeUndefined();
  });

  it('drops the least recently used entry past its bound', () => {
    const cache = new LayoutCache(2);
    cache.set('b', 'one', 'e', known(1));
    cache.set('b', 'two', 'e', known(2));
    cache.get('b', 'one', 'e');
    cache.set('b', 'three', 'e', known(3));
    expect(cache.size).toBe(2);
    expect(cache.get('b', 'two', 'e')).toBeUndefined();
    expect(cache.get('b', 'one', 'e')).toBeDefined();
    expect(cache.get('b', 'three', 'e')).toBeDefined();
  });
});
