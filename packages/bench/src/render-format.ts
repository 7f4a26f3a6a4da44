// Number and name formatting shared by the rendered sections.
import type { LargeFigure } from './phases/large-objects.js';

export const FIGURE_NAMES: Record<LargeFigure, string> = {
  put: 'PUT, 1 stream',
  get: 'GET, 1 stream',
  putParallel: 'PUT, 8 streams',
  getParallel: 'GET, 8 ranged streams',
};

export const OP_NAMES: Record<string, string> = { put: 'PUT', get: 'GET', stat: 'HEAD', list: 'LIST' };

/** A figure with `digits` decimals, or a dash when it was not measured. */
export function n(value: number | null | undefined, digits: number): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return value.toFixed(digits);
}
