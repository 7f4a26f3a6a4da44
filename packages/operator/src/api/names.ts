/**
 * Every name the operator shares with users and with the proxy it injects: the API group,
 * annotations and labels. Changing one is an API change.
 */
export const GROUP = 's3seal.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'EncryptionPolicy';
export const PLURAL = 'encryptionpolicies';
export const SINGULAR = 'encryptionpolicy';
export const SHORT_NAMES = ['encpol'] as const;
export const CRD_NAME = `${PLURAL}.${GROUP}`;

/** Pod annotations a user sets. */
export const ANNOTATION_INJECT = 's3seal.io/inject';
export const ANNOTATION_POLICY = 's3seal.io/policy';
/** Pod annotation the webhook writes: what it injected (its presence makes injection idempotent). */
export const ANNOTATION_INJECTION_STATUS = 's3seal.io/status';
/**
 * Policy annotation: any new value asks for a key rotation now. The value last acted on is
 * recorded on the key Secret, so the same value never rotates twice.
 */
export const ANNOTATION_ROTATE_KEY = 's3seal.io/rotate-key';
/** Key Secret annotations the operator writes. */
export const ANNOTATION_LAST_ROTATION = 's3seal.io/last-rotation';
export const ANNOTATION_ROTATE_KEY_HANDLED = 's3seal.io/rotate-key-handled';
export const ANNOTATION_ORPHANED = 's3seal.io/orphaned';

export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 's3seal-operator';
export const LABEL_POLICY = 's3seal.io/policy';
export const LABEL_COMPONENT = 'app.kubernetes.io/component';
/** Pod label the webhook adds with the sidecar (monitoring selects injected pods by it). */
export const LABEL_INJECTED = 's3seal.io/injected';

export const FIELD_MANAGER = 's3seal-operator';
export const SIDECAR_NAME = 's3seal-proxy';
