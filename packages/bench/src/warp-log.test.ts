import { describe, expect, it } from '@jest/globals';
import { epochMs, parseWarpLog, windowed } from './warp-log.js';

const HEADER =
  'idx\tthread\top\tclient_id\tn_objects\tbytes\tendpoint\tfile\terror\tstart\tfirst_byte\tend\tduration_ns';

function row(i: number, op: string, start: string, end: string, durationNs: number, error = ''): string {
  return [
    i,
    0,
    op,
    'abcd',
    1,
    4096,
    'http://127.0.0.1:9000',
    `p/${i}.rnd`,
    error,
    start,
    '',
    end,
    durationNs,
  ].join('\t');
}

describe('epochMs', () => {
  it('keeps the sub-millisecond digits of warp timestamps (to a fraction of a microsecond)', () => {
    const base = Date.parse('2026-11-22T05:26:46Z');
    expect(epochMs('2026-11-22T05:26:46.201040446Z') - base).toBeCloseTo(201.040446, 3);
    expect(epochMs('2026-11-22T05:26:46Z')).toBe(base);
  });
});

describe('parseWarpLog and windowed', () => {
  const text = [
    HEADER,
    row(0, 'PUT', '2026-11-22T05:00:00.000Z', '2026-11-22T05:00:00.002Z', 2_000_000),
    // warm-up window [0 s, 1 s)
    row(1, 'GET', '2026-11-22T05:00:00.100Z', '2026-11-22T05:00:00.101Z', 1_000_000),
    // measured window 1 [1 s, 2 s)
    row(2, 'GET', '2026-11-22T05:00:01.100Z', '2026-11-22T05:00:01.102Z', 2_000_000),
    row(3, 'GET', '2026-11-22T05:00:01.200Z', '2026-11-22T05:00:01.204Z', 4_000_000),
    row(4, 'GET', '2026-11-22T05:00:01.300Z', '2026-11-22T05:00:01.301Z', 1_000_000, 'boom'),
    // measured window 2 [2 s, 3 s)
    row(5, 'GET', '2026-11-22T05:00:02.100Z', '2026-11-22T05:00:02.103Z', 3_000_000),
    // past the last window: ignored
    row(6, 'GET', '2026-11-22T05:00:03.100Z', '2026-11-22T05:00:03.190Z', 90_000_000),
    '# warp get --host=127.0.0.1:9000 --duration=3s',
    '',
  ].join('\n');

  it('reads every row', () => {
    const ops = parseWarpLog(text);
    expect(ops).toHaveLength(7);
    expect(ops[4]).toMatchObject({ op: 'GET', isError: true, durationMs: 1 });
  });

  it('drops the warm-up window, counts ops per window and pools latencies', () => {
    const figures = windowed(parseWarpLog(text), 'GET', 2, 1000);
    expect(figures.opsPerSecond).toEqual([2, 1]);
    expect(figures.operations).toBe(3);
    expect(figures.p50Ms).toBe(3);
    expect(figures.p99Ms).toBe(4);
    expect(figures.errors).toBe(1);
  });

  it('fails when no operation of the type succeeded', () => {
    expect(() => windowed(parseWarpLog(text), 'STAT', 2, 1000)).toThrow(/no successful STAT/);
  });
});
