// PUT and GET of one large object in one stream, and the same bytes in 8 parallel streams
// (PUT: 8 objects of size/8; GET: 8 ranged GETs of size/8 slices of the object, as a parallel
// downloader does). Pinned and unpinned. The objects stay for the range phase.
import { canPin } from '../affinity.js';
import type { LayoutName } from '../affinity.js';
import type { BenchConfig } from '../config.js';
import { repeat, throughput, timed } from '../measure.js';
import type { Sample, Throughput } from '../measure.js';
import { TARGETS } from '../rig.js';
import type { Rig, Target, TargetName } from '../rig.js';

export const FIGURES = ['put', 'get', 'putParallel', 'getParallel'] as const;
export type LargeFigure = (typeof FIGURES)[number];

export type LayoutFigures = Record<LargeFigure, Record<TargetName, Throughput>>;

export interface LargeResult {
  readonly objectBytes: number;
  readonly streams: number;
  readonly layouts: Partial<Record<LayoutName, LayoutFigures>>;
}

/** The single-stream object each target keeps (also read by the range phase). */
export function largeKey(target: TargetName): string {
  return `large/${target}/one`;
}

export async function runLarge(
  rig: Rig,
  config: BenchConfig,
  log: (line: string) => void,
): Promise<LargeResult> {
  const size = config.largeBytes;
  const streams = config.parallelStreams;
  const slice = Math.floor(size / streams);
  const layouts: Partial<Record<LayoutName, LayoutFigures>> = {};
  const layoutNames: LayoutName[] = canPin() ? ['pinned', 'unpinned'] : ['unpinned'];

  for (const layoutName of layoutNames) {
    await rig.useLayout(layoutName);
    const samples = emptySamples();
    await repeat(config.runs, async (run) => {
      for (const target of rig.ordered(run)) {
        const figures = await oneRun(rig, target, size, streams, slice);
        if (run < 0) continue;
        for (const figure of FIGURES) samples[figure][target.name].push(figures[figure]);
        log(
          `large ${layoutName} run ${run + 1} ${target.name}: ` +
            FIGURES.map(
              (f) => `${f} ${(figures[f].bytes / 2 ** 20 / figures[f].seconds).toFixed(0)} MiB/s`,
            ).join(', '),
        );
      }
    });
    layouts[layoutName] = Object.fromEntries(
      FIGURES.map((f) => [
        f,
        { direct: throughput(samples[f].direct), s3seal: throughput(samples[f].s3seal) },
      ]),
    ) as LayoutFigures;
  }
  for (const target of TARGETS) {
    for (let i = 0; i < streams; i++)
      await rig.targets[target].http.delete(rig.bucket, parallelKey(target, i));
  }
  return { objectBytes: size, streams, layouts };
}

async function oneRun(
  rig: Rig,
  target: Target,
  size: number,
  streams: number,
  slice: number,
): Promise<Record<LargeFigure, Sample>> {
  const { http } = target;
  const key = largeKey(target.name);
  const indexes = Array.from({ length: streams }, (_, i) => i);
  const put = await timed(rig, size, () => http.put(rig.bucket, key, size));
  const get = await timed(rig, size, async () => expectBytes(await http.get(rig.bucket, key), size));
  const putParallel = await timed(rig, slice * streams, () =>
    Promise.all(indexes.map((i) => http.put(rig.bucket, parallelKey(target.name, i), slice))),
  );
  const getParallel = await timed(rig, slice * streams, () =>
    Promise.all(
      indexes.map(async (i) =>
        expectBytes(await http.get(rig.bucket, key, `bytes=${i * slice}-${(i + 1) * slice - 1}`), slice),
      ),
    ),
  );
  return { put, get, putParallel, getParallel };
}

function parallelKey(target: TargetName, index: number): string {
  return `large/${target}/parallel-${index}`;
}

function emptySamples(): Record<LargeFigure, Record<TargetName, Sample[]>> {
  return Object.fromEntries(FIGURES.map((f) => [f, { direct: [], s3seal: [] }])) as unknown as Record<
    LargeFigure,
    Record<TargetName, Sample[]>
  >;
}

export function expectBytes(got: number, want: number): void {
  if (got !== want) throw new Error(`received ${got} bytes, expected ${want}`);
}
