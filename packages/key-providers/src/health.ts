/**
 * What a key manager probe found, in the shape of a Kubernetes condition: the operator copies
 * it into the policy's status and the proxy's /readyz reports it.
 */
export interface KeyManagerHealth {
  readonly ok: boolean;
  /** CamelCase, stable (e.g. VaultUnreachable, KMSKeyDisabled). */
  readonly reason: string;
  /** What was found and what to do about it. */
  readonly message: string;
}

/** A key source that can be probed and closed (its connections, timers). */
export interface ProbedKeySource {
  check(): Promise<KeyManagerHealth>;
  close(): Promise<void>;
}
