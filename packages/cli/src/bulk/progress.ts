import { formatBytes } from './format-bytes.js';

/** Where a long command reports how far it is. */
export interface Progress {
  start(totalObjects: number, totalBytes: number): void;
  /** One more object done, of `sizeBytes` stored bytes. */
  advance(sizeBytes: number): void;
  finish(): void;
}

/** Redraws at most this often: a terminal does not need more, and a listing of small objects would flood it. */
const REDRAW_INTERVAL_MS = 200;

/**
 * One line on a terminal, redrawn in place (`\r`): objects done/total and bytes. Writes nothing
 * when the stream is not a TTY, so logs and pipes get only the summary.
 */
export function createProgress(
  label: string,
  out: { isTTY?: boolean; write(text: string): boolean },
  now: () => number = Date.now,
): Progress {
  if (out.isTTY !== true)
    return { start: () => undefined, advance: () => undefined, finish: () => undefined };
  let objects = 0;
  let bytes = 0;
  let totalObjects = 0;
  let totalBytes = 0;
  let drawnAt = -Infinity;
  let width = 0;
  const draw = (): void => {
    const line = `${label}: ${objects}/${totalObjects} objects, ${formatBytes(bytes)} of ${formatBytes(totalBytes)}`;
    out.write(`\r${line.padEnd(width)}`);
    width = line.length;
    drawnAt = now();
  };
  return {
    start(objectCount, byteCount): void {
      totalObjects = objectCount;
      totalBytes = byteCount;
      draw();
    },
    advance(sizeBytes): void {
      objects++;
      bytes += sizeBytes;
      if (now() - drawnAt >= REDRAW_INTERVAL_MS || objects === totalObjects) draw();
    },
    finish(): void {
      // Clear the line so the summary starts on a clean one.
      out.write(`\r${' '.repeat(width)}\r`);
    },
  };
}
