// Public surface of @s3seal/key-providers: external key managers that wrap s3seal data keys.
export { VaultTransitSource } from './vault-transit.js';
export type { VaultTransitOptions, VaultAuth } from './vault-transit.js';
export { AwsKmsSource } from './aws-kms.js';
export type { AwsKmsOptions } from './aws-kms.js';
export type { KeyManagerHealth, ProbedKeySource } from './health.js';
