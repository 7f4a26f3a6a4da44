import { describe, expect, it } from '@jest/globals';
import { createProgress } from './progress.js';

function terminal(isTTY: boolean): { isTTY: boolean; text: string; write(t: string): boolean } {
  return {
    isTTY,
    text: '',
    write(t: string): boolean {
      this.text += t;
      return true;
    },
  };
}

describe('progress', () => {
  it('redraws one line on a terminal, at most every 200 ms and at the last object, then clears it', () => {
    const out = terminal(true);
    let clock = 0;
    const progress = createProgress('verify', out, () => clock);
    progress.start(3, 3 * 1024 * 1024);
    expect(out.text).toContain('verify: 0/3 objects, 0 B of 3.0 MiB');
    clock = 300;
    progress.advance(1024 * 1024);
    expect(out.text).toContain('verify: 1/3 objects, 1.0 MiB of 3.0 MiB');
    clock = 400;
    progress.advance(1024 * 1024);
    expect(out.text).not.toContain('2/3');
    progress.advance(1024 * 1024);
    expect(out.text).toContain('verify: 3/3 objects, 3.0 MiB of 3.0 MiB');
    progress.finish();
    expect(out.text.endsWith('\r')).toBe(true);
  });

  it('writes nothing when the stream is not a terminal', () => {
    const out = terminal(false);
    const progress = createProgress('verify', out);
    progress.start(1, 1);
    progress.advance(1);
    progress.finish();
    expect(out.text).toBe('');
  });
});
