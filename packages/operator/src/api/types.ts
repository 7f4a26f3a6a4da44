import type { FromSchema } from 'json-schema-to-ts';

import type { conditionSchema, specSchema, statusSchema } from './schema.js';

/**
 * Types derived from schema.ts. Defaulted fields are required: the apiserver fills them in,
 * so every policy read from the API has them (objects built in code go through the API too).
 */
export type EncryptionPolicySpec = FromSchema<typeof specSchema>;
export type EncryptionPolicyStatus = FromSchema<typeof statusSchema>;
export type Condition = FromSchema<typeof conditionSchema>;
export type ConditionStatus = Condition['status'];

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string | Date;
  deletionTimestamp?: string | Date;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
}

export interface EncryptionPolicy {
  apiVersion: 's3seal.io/v1alpha1';
  kind: 'EncryptionPolicy';
  metadata: ObjectMeta;
  spec: EncryptionPolicySpec;
  status?: EncryptionPolicyStatus;
}
