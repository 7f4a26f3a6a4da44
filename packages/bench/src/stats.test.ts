import { describe, expect, it } from '@jest/globals';
import { median, percentile, ratio, round3 } from './stats.js';

describe('median', () => {
  it('takes the middle sample, or the mean of the two middle ones', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
});

describe('percentile', () => {
  it('uses the nearest rank', () => {
    const samples = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(samples, 50)).toBe(50);
    expect(percentile(samples, 99)).toBe(99);
    expect(percentile(samples, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
  });
});

describe('ratio', () => {
  it('is null when a side is missing or the divisor is 0', () => {
    expect(ratio(1, 2)).toBe(0.5);
    expect(ratio(null, 2)).toBeNull();
    expect(ratio(1, 0)).toBeNull();
  });
});

describe('round3', () => {
  it('keeps three significant digits', () => {
    expect(round3(0.912345)).toBe(0.912);
    expect(round3(1234.5678)).toBe(1235);
    expect(round3(12.3456)).toBe(12.3);
    expect(round3(null)).toBeNull();
  });
});
