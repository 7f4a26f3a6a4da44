// Public surface of @s3seal/core: the object format, its size arithmetic and the keyring.
export { CoreError, isCoreError } from './errors.js';
export type { CoreErrorCode } from './errors.js';
export { FORMAT_VERSION } from './format/version.js';
export { algorithmByName, DEFAULT_ALGORITHM } from './format/algorithms.js';
export type { Algorithm, AlgorithmName } from './format/algorithms.js';
export {
  TAG_BYTES,
  PART_HEADER_BYTES,
  DEFAULT_CHUNK_SIZE,
  MIN_CHUNK_SIZE,
  MAX_CHUNK_SIZE,
  chunkCount,
  sealedSize,
  plaintextSize,
} from './format/sizes.js';
export { describeLayout, planRead } from './format/layout.js';
export type { ObjectLayout, SegmentLayout, ReadPlan } from './format/layout.js';
export {
  META,
  METADATA_PREFIX,
  WRAP_SCHEMES,
  KEYRING_ID_PATTERN,
  KEK_VERSION_PATTERN,
  KMS_KEY_ARN_PATTERN,
  USER_METADATA_LIMIT_BYTES,
  isSealedMetadata,
  encodeMetadata,
  decodeMetadata,
  userMetadataBytes,
  assertClientMetadataFits,
} from './format/metadata.js';
export type { SealedObjectInfo, KekRef, Layout, WrapScheme } from './format/metadata.js';
export { encodePartHeader, decodePartHeader, PART_SALT_BYTES } from './format/part-header.js';
export type { PartHeader } from './format/part-header.js';
export {
  sealEnvelope,
  sealEnvelopeWith,
  openEnvelope,
  openEnvelopeWith,
  rewrapEnvelope,
  rewrapEnvelopeWith,
  singleSegmentKey,
  partSegmentKey,
  newPartHeader,
} from './format/envelope.js';
export type { SealOptions, SealedEnvelope, RandomBytes, ObjectLocation } from './format/envelope.js';
export { EncryptStream } from './format/encrypt-stream.js';
export type { EncryptStreamOptions } from './format/encrypt-stream.js';
export { DecryptStream } from './format/decrypt-stream.js';
export type { DecryptStreamOptions } from './format/decrypt-stream.js';
export { Decryptor } from './format/decryptor.js';
export type { DecryptorOptions, PlaintextSink } from './format/decryptor.js';
export { Keyring, KEK_BYTES, DEFAULT_KEYRING_ID, ACTIVE_ENTRY } from './keyring/keyring.js';
export { KeySourceSet, encryptionContextOf, associatedDataOf } from './keyring/key-source.js';
export type { KeySource, KeySources, WrapContext, WrappedDataKey } from './keyring/key-source.js';
export { sealBuffer, openBuffer } from './format/buffers.js';
export { rewrapObjectMetadata, clientMetadataOf, isWrappedWithActiveKek } from './format/rewrap.js';
export type { RewrappedMetadata, RewrapOptions } from './format/rewrap.js';
export {
  storedObjectLayout,
  createObjectDecryptStream,
  createSingleEncryptStream,
} from './format/whole-object.js';
export type { SingleEncryptOptions } from './format/whole-object.js';
