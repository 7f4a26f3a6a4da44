import { describe, expect, it } from '@jest/globals';

import { objectKey, splitObjectKey } from './object-key.js';

describe('objectKey', () => {
  it('joins namespace and name, as client-go MetaNamespaceKeyFunc', () => {
    expect(objectKey({ metadata: { namespace: 'team-a', name: 'backups' } })).toBe('team-a/backups');
    expect(objectKey({ metadata: { name: 'cluster-wide' } })).toBe('cluster-wide');
  });

  it('splits back', () => {
    expect(splitObjectKey('team-a/backups')).toEqual({ namespace: 'team-a', name: 'backups' });
    expect(splitObjectKey('cluster-wide')).toEqual({ namespace: undefined, name: 'cluster-wide' });
  });
});
