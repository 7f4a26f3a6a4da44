import { CoreError } from '../errors.js';

/**
 * The AEADs an object may be sealed with. The numeric id is what the part header and the
 * key-derivation info carry; the name is what the metadata carries. Both AEADs take a
 * 256-bit key, a 96-bit nonce and produce a 128-bit tag, so the chunk layout is the same.
 */
export type AlgorithmName = 'AES256GCM' | 'CHACHA20POLY1305';

export interface Algorithm {
  readonly name: AlgorithmName;
  readonly id: number;
  /** OpenSSL cipher name as Node's crypto spells it. */
  readonly cipher: 'aes-256-gcm' | 'chacha20-poly1305';
}

const ALGORITHMS: readonly Algorithm[] = [
  { name: 'AES256GCM', id: 1, cipher: 'aes-256-gcm' },
  { name: 'CHACHA20POLY1305', id: 2, cipher: 'chacha20-poly1305' },
];

export const DEFAULT_ALGORITHM: AlgorithmName = 'AES256GCM';

export function algorithmByName(name: string): Algorithm {
  const found = ALGORITHMS.find((a) => a.name === name);
  if (!found) {
    throw new CoreError(
      'S3SEAL_FORMAT_ARGUMENT',
      `unknown algorithm ${JSON.stringify(name)}; expected one of ${ALGORITHMS.map((a) => a.name).join(', ')}`,
    );
  }
  return found;
}

export function algorithmById(id: number): Algorithm | undefined {
  return ALGORITHMS.find((a) => a.id === id);
}
