export * from './api/names.js';
export type {
  EncryptionPolicy,
  EncryptionPolicySpec,
  EncryptionPolicyStatus,
  Condition,
} from './api/types.js';
export { encryptionPolicyCrd, renderCrdYaml } from './api/crd.js';
export { policyWithDefaults } from './api/defaults.js';
export { renderProxyConfig, renderProxyConfigYaml, SIDECAR_PATHS } from './render/proxy-config.js';
export { startOperator } from './operator.js';
export type { OperatorOptions, RunningOperator } from './operator.js';
export * from './webhook/index.js';
