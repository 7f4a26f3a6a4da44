import { describe, expect, it } from '@jest/globals';

import { selectRigBackend } from './backend.js';
import { RigError } from './errors.js';

describe('selectRigBackend', () => {
  it('defaults to process', () => {
    expect(selectRigBackend({})).toBe('process');
    expect(selectRigBackend({ S3SEAL_RIG_BACKEND: '' })).toBe('process');
    expect(selectRigBackend({ S3SEAL_RIG_BACKEND: 'process' })).toBe('process');
  });

  it('selects containers', () => {
    expect(selectRigBackend({ S3SEAL_RIG_BACKEND: 'containers' })).toBe('containers');
  });

  it('refuses an unknown value', () => {
    let thrown: unknown;
    try {
      selectRigBackend({ S3SEAL_RIG_BACKEND: 'docker' });
    } catch (err: unknown) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(RigError);
    expect(thrown).toMatchObject({ code: 'S3SEAL_RIG_BAD_BACKEND' });
  });
});
