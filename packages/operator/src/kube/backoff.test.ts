import { describe, expect, it } from '@jest/globals';

import { backoffDelayMs, sleep } from './backoff.js';

describe('backoffDelayMs', () => {
  const options = { baseMs: 500, maxMs: 5 * 60_000, jitter: 0.2 };

  it('doubles from the base up to the cap without jitter', () => {
    const delays = [0, 1, 2, 3, 9, 10, 100, 5000].map((attempt) =>
      backoffDelayMs(attempt, { ...options, random: () => 0 }),
    );
    expect(delays).toEqual([500, 1000, 2000, 4000, 256_000, 300_000, 300_000, 300_000]);
  });

  it('removes at most the jitter fraction and never exceeds the cap', () => {
    for (const random of [0, 0.25, 0.5, 0.999]) {
      const delay = backoffDelayMs(3, { ...options, random: () => random });
      expect(delay).toBeGreaterThanOrEqual(4000 * 0.8);
      expect(delay).toBeLessThanOrEqual(4000);
    }
    expect(backoffDelayMs(50, { ...options, random: () => 0.5 })).toBe(270_000);
  });
});

describe('sleep', () => {
  it('resolves early when the signal aborts', async () => {
    const controller = new AbortController();
    const slept = sleep(60_000, controller.signal);
    controller.abort();
    await expect(slept).resolves.toBeUndefined();
  });

  it('resolves at once for an already aborted signal', async () => {
    await expect(sleep(60_000, AbortSignal.abort())).resolves.toBeUndefined();
  });
});
