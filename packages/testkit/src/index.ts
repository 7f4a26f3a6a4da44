export { findBinary, type BinaryName } from './binaries.js';
export { RigError, ServerStartError, type RigErrorCode } from './errors.js';
export { startKubeApi, type KubeApi, type StartKubeApiOptions } from './kube-api.js';
export { startMinio, type MinioServer, type StartMinioOptions } from './minio.js';
export { startMoto, type KmsResponse, type MotoServer, type StartMotoOptions } from './moto.js';
export { freePort } from './ports.js';
export { startRig, type Rig, type RigOptions } from './rig.js';
export { startValkey, type StartValkeyOptions, type ValkeyServer } from './valkey.js';
export {
  startVault,
  transitPolicy,
  type StartVaultOptions,
  type TransitKeyOptions,
  type VaultBody,
  type VaultResponse,
  type VaultServer,
} from './vault.js';
export {
  startValkeyCluster,
  startValkeySentinel,
  startValkeyWithAcl,
  startValkeyWithTls,
  type StartValkeySentinelOptions,
  type StartValkeyWithAclOptions,
  type ValkeyAclServer,
  type ValkeyClusterGroup,
  type ValkeyEndpoint,
  type ValkeyProcess,
  type ValkeySentinelGroup,
  type ValkeyTlsServer,
} from './valkey-topologies.js';
export { assertCiphertextAtRest, readRawObject } from './at-rest.js';
export { createTestCa, LOOPBACK_NAMES, type CertifiedKey, type TestCa } from './pki.js';
export {
  killServer,
  pauseServer,
  resumeServer,
  startFaultProxy,
  type FaultMode,
  type FaultProxy,
} from './faults.js';
export { putMultipart } from './multipart-upload.js';
