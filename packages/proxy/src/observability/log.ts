import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';

/**
 * Paths pino censors in every line, set once at creation (pino compiles them). The proxy's own
 * lines never carry these (the access log has no headers, URL or query), so this is a second
 * line of defence for an error or object logged whole: credentials, signatures, session tokens,
 * SSE-C keys and the Valkey password.
 */
export const REDACT_PATHS: readonly string[] = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'headers["x-amz-security-token"]',
  'req.headers["x-amz-security-token"]',
  'headers["x-amz-server-side-encryption-customer-key"]',
  'headers["x-amz-copy-source-server-side-encryption-customer-key"]',
  'secretAccessKey',
  'sessionToken',
  '*.secretAccessKey',
  '*.sessionToken',
  'password',
  '*.password',
  'valkeyPassword',
  'kek',
  'dek',
  // Object keys are data (file names, customer ids): never in a log line.
  'key',
  'objectKey',
];

/** The proxy's logger: JSON lines at `level`, with the redaction paths above. */
export function createProxyLogger(level: string, destination?: DestinationStream): Logger {
  const options = { level, redact: { paths: [...REDACT_PATHS], censor: '[redacted]' } };
  return destination ? pino(options, destination) : pino(options);
}
