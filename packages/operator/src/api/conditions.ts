import type { Condition, EncryptionPolicy } from './types.js';

export const CONDITION_READY = 'Ready';
export const CONDITION_KEY_READY = 'KeyReady';
/**
 * Whether the external key managers a policy names (Vault Transit, AWS KMS) answer as the
 * operator sees them. Health, not configuration: Ready and injection do not depend on it.
 */
export const CONDITION_KEY_MANAGER_READY = 'KeyManagerReady';

/** The condition of a type, if the policy has one. */
export function findCondition(policy: EncryptionPolicy, type: string): Condition | undefined {
  return policy.status?.conditions?.find((c) => c.type === type);
}

/** Whether pods may be injected for this policy now. */
export function isPolicyReady(policy: EncryptionPolicy): boolean {
  return findCondition(policy, CONDITION_READY)?.status === 'True';
}

/**
 * Sets a condition, keeping lastTransitionTime when the status does not change (the
 * metav1.Condition contract: it marks the transition, not the last write).
 */
export function setCondition(
  conditions: readonly Condition[],
  next: Omit<Condition, 'lastTransitionTime'>,
  now: Date,
): Condition[] {
  const previous = conditions.find((c) => c.type === next.type);
  const lastTransitionTime =
    previous && previous.status === next.status
      ? previous.lastTransitionTime
      : now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return [...conditions.filter((c) => c.type !== next.type), { ...next, lastTransitionTime }].sort((a, b) =>
    a.type.localeCompare(b.type),
  );
}

/** The conditions without one of a type. */
export function removeCondition(conditions: readonly Condition[], type: string): Condition[] {
  return conditions.filter((c) => c.type !== type);
}

/** Kubernetes times are RFC 3339 to the second. */
export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
