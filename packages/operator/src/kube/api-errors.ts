/**
 * Classifies errors from @kubernetes/client-node by HTTP status, so controllers branch on
 * NotFound or Conflict and never on message text.
 *
 * client-node reports a status in three shapes: `ApiException.code` from the generated API
 * clients, `statusCode` on the Error that Watch throws for a non-200 response, and `code` on
 * the metav1.Status object a watch stream sends as an ERROR event (410 Gone when the
 * resourceVersion is too old).
 */
import { ApiException } from '@kubernetes/client-node';

export function statusOf(err: unknown): number | undefined {
  if (err instanceof ApiException) return isHttpStatus(err.code) ? err.code : undefined;
  // DOMException (AbortError, TimeoutError) carries a legacy numeric `code` (20, 23) that is not
  // an HTTP status; the range check below would accept neither, but say so explicitly.
  if (err instanceof DOMException) return undefined;
  if (typeof err !== 'object' || err === null) return undefined;
  const { statusCode, code } = err as { statusCode?: unknown; code?: unknown };
  if (isHttpStatus(statusCode)) return statusCode;
  // Node system errors have string codes (ECONNREFUSED); only a number in range is a status.
  if (isHttpStatus(code)) return code;
  return undefined;
}

export function isNotFound(err: unknown): boolean {
  return statusOf(err) === 404;
}

/** 409 from an update whose resourceVersion is stale: someone else wrote first. */
export function isConflict(err: unknown): boolean {
  return statusOf(err) === 409 && statusReason(err) !== 'AlreadyExists';
}

/** 409 from a create whose name is taken. The apiserver tells it from Conflict by `reason`. */
export function isAlreadyExists(err: unknown): boolean {
  return statusOf(err) === 409 && statusReason(err) === 'AlreadyExists';
}

/** 410: the resourceVersion a watch or list asked for is older than etcd keeps. */
export function isGone(err: unknown): boolean {
  return statusOf(err) === 410;
}

const MAX_MESSAGE_CHARS = 200;

/**
 * A one-line description for logs and Events. It never uses `ApiException.message`, which
 * client-node builds from the whole response body and headers; it takes only the status, the
 * metav1.Status reason and a truncated Status message, which name objects but do not echo the
 * Secret `data` we sent.
 */
export function describeApiError(err: unknown): string {
  const status = statusOf(err);
  if (err instanceof ApiException) {
    const reason = statusReason(err);
    const message = statusMessage(err);
    return [`HTTP ${err.code}`, reason, message].filter((part) => part !== undefined).join(': ');
  }
  if (err instanceof Error) {
    const prefix = status === undefined ? err.name : `HTTP ${status}`;
    const code = (err as { code?: unknown }).code;
    const detail = typeof code === 'string' ? `${code} ${err.message}` : err.message;
    return `${prefix}: ${truncate(detail)}`;
  }
  if (status !== undefined) return `HTTP ${status}`;
  return truncate(typeof err === 'string' ? err : 'unknown error');
}

function isHttpStatus(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 100 && value <= 599;
}

/** The body of an ApiException or a watch ERROR event: a metav1.Status, or a string. */
function statusBody(err: unknown): Record<string, unknown> | undefined {
  const body: unknown = err instanceof ApiException ? (err.body as unknown) : err;
  if (typeof body === 'string') {
    // client-node leaves the body a string when it could not parse it as the declared type.
    try {
      const parsed: unknown = JSON.parse(body);
      return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
    } catch (parseErr: unknown) {
      if (parseErr instanceof SyntaxError) return undefined;
      throw parseErr;
    }
  }
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : undefined;
}

function statusReason(err: unknown): string | undefined {
  const reason = statusBody(err)?.['reason'];
  return typeof reason === 'string' && reason !== '' ? reason : undefined;
}

function statusMessage(err: unknown): string | undefined {
  const message = statusBody(err)?.['message'];
  return typeof message === 'string' && message !== '' ? truncate(message) : undefined;
}

function truncate(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length <= MAX_MESSAGE_CHARS ? oneLine : `${oneLine.slice(0, MAX_MESSAGE_CHARS - 1)}…`;
}
