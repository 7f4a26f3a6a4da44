import type { CustomObjectsApi } from '@kubernetes/client-node';

import { isNotFound } from '../kube/api-errors.js';
import { GROUP, PLURAL, VERSION } from './names.js';
import type { EncryptionPolicy } from './types.js';

/** Reads one EncryptionPolicy live from the API; undefined when it does not exist. */
export async function readPolicy(
  custom: CustomObjectsApi,
  namespace: string,
  name: string,
): Promise<EncryptionPolicy | undefined> {
  try {
    return (await custom.getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: PLURAL,
      name,
    })) as EncryptionPolicy;
  } catch (err: unknown) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}
