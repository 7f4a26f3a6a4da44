/**
 * The `admission.k8s.io/v1` wire types, trimmed to what a mutating webhook reads and writes, and
 * their decoding and encoding. Field names and meanings follow k8s.io/api/admission/v1/types.go.
 */

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

export interface AdmissionUserInfo {
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

export type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

export interface AdmissionRequest {
  /** Echoed in the response; the apiserver matches the two by it. */
  uid: string;
  kind: GroupVersionKind;
  resource: GroupVersionResource;
  subResource?: string;
  requestKind?: GroupVersionKind;
  requestResource?: GroupVersionResource;
  requestSubResource?: string;
  /** Empty on CREATE when the client relies on `generateName`. */
  name?: string;
  namespace?: string;
  operation: AdmissionOperation;
  userInfo: AdmissionUserInfo;
  /** The object as it would be stored (null on DELETE). */
  object?: unknown;
  oldObject?: unknown;
  /** A dry run must have no side effects (the webhook declares `sideEffects: None`). */
  dryRun?: boolean;
  /** CreateOptions, UpdateOptions or DeleteOptions. */
  options?: unknown;
}

/** The subset of metav1.Status the apiserver reads from a denial. */
export interface AdmissionStatus {
  /** HTTP status the apiserver returns to the client; 0 or absent means 403. */
  code: number;
  /** A metav1.StatusReason such as `Forbidden` or `InternalError`. */
  reason?: string;
  message: string;
}

/** RFC 6902 operations; the apiserver applies them to the object in `request.object`. */
export type JsonPatchOperation =
  | { op: 'add' | 'replace' | 'test'; path: string; value: unknown }
  | { op: 'remove'; path: string }
  | { op: 'move' | 'copy'; from: string; path: string };

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: AdmissionStatus & { status: 'Failure' };
  /** Base64 of the JSON-encoded patch. */
  patch?: string;
  patchType?: 'JSONPatch';
  auditAnnotations?: Record<string, string>;
  warnings?: string[];
}

export interface AdmissionReview {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: 'AdmissionReview';
  request?: AdmissionRequest;
  response?: AdmissionResponse;
}

/** What a handler decides about one request. */
export type AdmissionOutcome =
  | { allowed: true; patch?: JsonPatchOperation[]; warnings?: string[] }
  | { allowed: false; status: AdmissionStatus; warnings?: string[] };

export type AdmissionHandler = (request: AdmissionRequest) => Promise<AdmissionOutcome>;

export class AdmissionReviewError extends Error {
  override readonly name = 'AdmissionReviewError';
  readonly code = 'S3SEAL_ADMISSION_REVIEW_INVALID';
}

const OPERATIONS: ReadonlySet<string> = new Set<AdmissionOperation>([
  'CREATE',
  'UPDATE',
  'DELETE',
  'CONNECT',
]);

/**
 * Checks that a decoded body is a v1 AdmissionReview carrying a request, and returns the request.
 * Only the fields a webhook relies on are checked; the rest is passed through as sent.
 */
export function parseAdmissionReview(body: unknown): AdmissionRequest {
  if (!isRecord(body)) throw new AdmissionReviewError('body is not a JSON object');
  // The apiserver sends the first version in admissionReviewVersions that it supports; v1beta1
  // reviews would need a v1beta1 response, so only v1 is offered and accepted.
  if (body.apiVersion !== ADMISSION_API_VERSION || body.kind !== 'AdmissionReview') {
    throw new AdmissionReviewError(`expected ${ADMISSION_API_VERSION} AdmissionReview`);
  }
  const request = body.request;
  if (!isRecord(request)) throw new AdmissionReviewError('AdmissionReview has no request');
  if (typeof request.uid !== 'string' || request.uid === '') {
    throw new AdmissionReviewError('request.uid is missing');
  }
  if (typeof request.operation !== 'string' || !OPERATIONS.has(request.operation)) {
    throw new AdmissionReviewError('request.operation is missing or unknown');
  }
  if (!isRecord(request.kind) || !isRecord(request.resource)) {
    throw new AdmissionReviewError('request.kind or request.resource is missing');
  }
  return request as unknown as AdmissionRequest;
}

/** The AdmissionReview to send back for `uid`. */
export function admissionReviewResponse(uid: string, outcome: AdmissionOutcome): AdmissionReview {
  const response: AdmissionResponse = { uid, allowed: outcome.allowed };
  if (outcome.allowed) {
    if (outcome.patch !== undefined && outcome.patch.length > 0) {
      response.patchType = 'JSONPatch';
      response.patch = Buffer.from(JSON.stringify(outcome.patch)).toString('base64');
    }
  } else {
    response.status = { ...outcome.status, status: 'Failure' };
  }
  if (outcome.warnings !== undefined && outcome.warnings.length > 0) response.warnings = outcome.warnings;
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response };
}

/**
 * Escapes one JSON Pointer reference token (RFC 6901 section 3): `~` first, then `/`, so an
 * annotation key like `s3seal.io/status` becomes `s3seal.io~1status`.
 */
export function jsonPatchEscape(segment: string): string {
  return segment.replaceAll('~', '~0').replaceAll('/', '~1');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
