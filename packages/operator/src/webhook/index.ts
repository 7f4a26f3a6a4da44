export {
  ADMISSION_API_VERSION,
  type AdmissionHandler,
  type AdmissionOperation,
  type AdmissionOutcome,
  type AdmissionRequest,
  type AdmissionResponse,
  type AdmissionReview,
  AdmissionReviewError,
  type AdmissionStatus,
  type AdmissionUserInfo,
  admissionReviewResponse,
  type GroupVersionKind,
  type GroupVersionResource,
  type JsonPatchOperation,
  jsonPatchEscape,
  parseAdmissionReview,
} from './admission-review.js';
export { AdmissionServer, type AdmissionServerOptions, DEFAULT_ADMISSION_PATH } from './admission-server.js';
export { caBundlePatch, publishedCaPems } from './ca-bundle.js';
export {
  CA_PUBLISH_GRACE_MS,
  type RotationResult,
  type RotationSettings,
  rotateCertificates,
  type StoredCertificates,
  type WebhookCertificates,
} from './certificate-rotation.js';
export {
  type CertificateHosts,
  type CertifiedKey,
  certificateExpiry,
  createCertificateAuthority,
  DEFAULT_CA_VALIDITY_MS,
  DEFAULT_LEAF_VALIDITY_MS,
  issueServingCertificate,
  type MintOptions,
  needsRenewal,
  serviceDnsNames,
} from './certificates.js';
export {
  DEFAULT_CERTIFICATE_RESYNC_MS,
  DEFAULT_TLS_SECRET_NAME,
  DEFAULT_WEBHOOK_CONFIGURATION_NAME,
  ServingCertificateManager,
  type ServingCertificateOptions,
} from './serving-certificate.js';
