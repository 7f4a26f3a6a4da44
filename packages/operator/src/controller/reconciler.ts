import type { CoreV1Api, CustomObjectsApi, V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { Logger } from 'pino';

import { CONDITION_KEY_READY, CONDITION_READY, isoSeconds, setCondition } from '../api/conditions.js';
import {
  ANNOTATION_LAST_ROTATION,
  ANNOTATION_ORPHANED,
  ANNOTATION_ROTATE_KEY,
  ANNOTATION_ROTATE_KEY_HANDLED,
  API_VERSION,
  GROUP,
  KIND,
  LABEL_COMPONENT,
  LABEL_MANAGED_BY,
  LABEL_POLICY,
  MANAGED_BY,
  PLURAL,
  VERSION,
} from '../api/names.js';
import { readPolicy } from '../api/policy-client.js';
import type { Condition, EncryptionPolicy, EncryptionPolicyStatus } from '../api/types.js';
import { describeApiError, isAlreadyExists, isNotFound } from '../kube/api-errors.js';
import type { EventRecorder, InvolvedObject } from '../kube/event-recorder.js';
import { splitObjectKey } from '../kube/object-key.js';
import type { OperatorMetrics } from '../metrics.js';
import type { ReconcileResult } from '../kube/work-queue.js';
import { keyringIdOf, keySecretName, proxyConfigMapName } from '../render/names.js';
import { PROXY_CONFIG_KEY, renderProxyConfigYaml } from '../render/proxy-config.js';
import {
  activeVersion,
  isOwnKeySecret,
  keyVersions,
  newKeySecret,
  parseDuration,
  parseKeyring,
  versionsToPrune,
  withNewVersion,
  withoutVersions,
} from './key-secret.js';

/** The rotation period when a policy says nothing about its key (the schema's default). */
export const DEFAULT_ROTATION_PERIOD = '2160h';
/** Default of ReconcilerOptions.waitingRequeueMs. */
const WAITING_REQUEUE_MS = 15_000;
/** Timers beyond this are clamped: setTimeout overflows past ~24.8 days, and a periodic look costs nothing. */
const MAX_REQUEUE_MS = 12 * 3_600_000;

export interface ReconcilerOptions {
  readonly core: CoreV1Api;
  readonly custom: CustomObjectsApi;
  readonly events: EventRecorder;
  readonly log: Logger;
  /** The clock; tests move it to make rotations due. */
  readonly now?: () => Date;
  /** How soon to look again while waiting for something a user must create, e.g. a Secret (default 15 s). */
  readonly waitingRequeueMs?: number;
  /** Key rotations and per-policy state, for Prometheus. */
  readonly metrics?: OperatorMetrics;
}

/** What reconciling the key settled on; feeds the KeyReady condition and the status. */
type KeyOutcome =
  | { readonly ok: false; readonly reason: string; readonly message: string; readonly waiting: boolean }
  | {
      readonly ok: true;
      readonly secretName: string;
      readonly keyringId: string;
      readonly active: string;
      readonly versions: number;
      readonly lastRotation?: Date;
      readonly nextRotation?: Date;
    };

type Problem = { readonly reason: string; readonly message: string; readonly waiting: boolean };

/**
 * Brings one EncryptionPolicy's world in line with its spec, level-based: every run reads the
 * current state and does only what is missing, so it may run any number of times, after any
 * restart, with the same result. It mints the key Secret, rotates and (when asked) prunes it,
 * renders the proxy's ConfigMap, checks the Secrets the sidecar will read, and reports all of
 * it in the status conditions and in Events.
 */
export class PolicyReconciler {
  private readonly core: CoreV1Api;
  private readonly custom: CustomObjectsApi;
  private readonly events: EventRecorder;
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly waitingRequeueMs: number;
  private readonly metrics: OperatorMetrics | undefined;

  constructor(options: ReconcilerOptions) {
    this.metrics = options.metrics;
    this.waitingRequeueMs = options.waitingRequeueMs ?? WAITING_REQUEUE_MS;
    this.core = options.core;
    this.custom = options.custom;
    this.events = options.events;
    this.log = options.log;
    this.now = options.now ?? ((): Date => new Date());
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitObjectKey(key);
    if (namespace === undefined) return;
    const policy = await readPolicy(this.custom, namespace, name);
    if (!policy) {
      this.metrics?.forgetPolicy(namespace, name);
      await this.keepOrphanedKeys(namespace, name);
      return;
    }
    // Deleting: nothing to finalize (no finalizer is set); the key Secret outlives it.
    if (policy.metadata.deletionTimestamp) return;

    const key_ = await this.reconcileKey(policy);
    const problems: Problem[] = [];
    if (!key_.ok) problems.push({ ...key_, reason: 'KeyNotReady', message: `key: ${key_.message}` });
    else {
      const config = await this.reconcileConfigMap(policy);
      if (config) problems.push(config);
    }
    problems.push(...(await this.checkReferencedSecrets(policy)));

    await this.writeStatus(policy, key_, problems);
    const waits = problems.some((p) => p.waiting) ? [this.waitingRequeueMs] : [];
    if (key_.ok && key_.nextRotation)
      waits.push(Math.max(1_000, key_.nextRotation.getTime() - this.now().getTime()));
    return waits.length === 0 ? undefined : { requeueAfterMs: Math.min(MAX_REQUEUE_MS, ...waits) };
  }

  private async readSecret(namespace: string, name: string): Promise<V1Secret | undefined> {
    try {
      return await this.core.readNamespacedSecret({ namespace, name });
    } catch (err: unknown) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private involved(policy: EncryptionPolicy): InvolvedObject {
    const { name, namespace, uid } = policy.metadata;
    return { apiVersion: API_VERSION, kind: KIND, name, namespace, ...(uid === undefined ? {} : { uid }) };
  }

  private async reconcileKey(policy: EncryptionPolicy): Promise<KeyOutcome> {
    const { namespace, name } = policy.metadata;
    const keyringId = keyringIdOf(policy);
    if (keyringId === undefined) {
      return {
        ok: false,
        reason: 'InvalidKeyringId',
        message: `the policy name is too long or not lowercase enough to be a keyring id: set spec.key.keyringId`,
        waiting: false,
      };
    }
    const secretName = keySecretName(policy);
    const existing = policy.spec.key.existingSecret;
    let secret = await this.readSecret(namespace, secretName);

    if (existing) {
      if (!secret) {
        return {
          ok: false,
          reason: 'KeySecretNotFound',
          message: `Secret ${namespace}/${secretName} (spec.key.existingSecret) not found: create it with keys v1, v2, … (base64 of 32 random bytes each) and active`,
          waiting: true,
        };
      }
      return this.keyringOutcome(secret, secretName, keyringId, undefined);
    }

    const rotateRequest = policy.metadata.annotations?.[ANNOTATION_ROTATE_KEY];
    if (!secret && policy.status?.activeKeyVersion !== undefined) {
      // The policy had keys, and someone deleted them. Minting a fresh v1 would hide that every
      // object sealed so far is now unreadable: stop, and say how to recover.
      return {
        ok: false,
        reason: 'KeySecretLost',
        message: `Secret ${namespace}/${secretName} held this policy's keys (active ${policy.status.activeKeyVersion}) and is gone: restore it from a backup. Objects sealed with it cannot be read without it. To start over with a new key, delete and re-create the policy`,
        waiting: true,
      };
    }
    if (!secret) {
      secret = await this.createKeySecret(policy, secretName, rotateRequest);
    } else if (!isOwnKeySecret(secret, name)) {
      return {
        ok: false,
        reason: 'KeySecretConflict',
        message: `Secret ${namespace}/${secretName} exists but was not minted by s3seal-operator for this policy, and s3seal never overwrites key material: delete or rename it, set spec.key.managed.secretName, or adopt it with spec.key.existingSecret`,
        waiting: false,
      };
    }
    const parsed = this.keyringOutcome(secret, secretName, keyringId, undefined);
    // Never build on a Secret the proxy could not read: a new version would hide the damage.
    if (!parsed.ok) return parsed;

    if (secret.metadata?.annotations?.[ANNOTATION_ORPHANED] !== undefined)
      secret = await this.adopt(policy, secret);

    const managed = policy.spec.key.managed;
    const periodMs = parseDuration(managed?.rotationPeriod ?? DEFAULT_ROTATION_PERIOD);
    const lastRotation = new Date(
      secret.metadata?.annotations?.[ANNOTATION_LAST_ROTATION] ?? secret.metadata?.creationTimestamp ?? 0,
    );
    const now = this.now();
    const isScheduled = periodMs !== undefined && now.getTime() >= lastRotation.getTime() + periodMs;
    const isRequested =
      rotateRequest !== undefined &&
      rotateRequest !== secret.metadata?.annotations?.[ANNOTATION_ROTATE_KEY_HANDLED];
    if (isScheduled || isRequested)
      secret = await this.rotate(policy, secret, now, rotateRequest, isRequested);

    const pruned = versionsToPrune(secret, managed?.retainVersions);
    if (pruned.length > 0) secret = await this.prune(policy, secret, pruned);

    const rotatedAt = new Date(secret.metadata?.annotations?.[ANNOTATION_LAST_ROTATION] ?? lastRotation);
    return this.keyringOutcome(
      secret,
      secretName,
      keyringId,
      periodMs === undefined
        ? { last: rotatedAt }
        : { last: rotatedAt, next: new Date(rotatedAt.getTime() + periodMs) },
    );
  }

  private keyringOutcome(
    secret: V1Secret,
    secretName: string,
    keyringId: string,
    rotation: { last: Date; next?: Date } | undefined,
  ): KeyOutcome {
    try {
      const keyring = parseKeyring(secret, keyringId);
      return {
        ok: true,
        secretName,
        keyringId,
        active: keyring.activeVersion,
        versions: keyVersions(secret).length,
        ...(rotation ? { lastRotation: rotation.last } : {}),
        ...(rotation?.next ? { nextRotation: rotation.next } : {}),
      };
    } catch (err: unknown) {
      return {
        ok: false,
        reason: 'KeyringInvalid',
        message: `Secret ${secret.metadata?.namespace}/${secretName} is not a usable keyring (${(err as Error).message}); the operator does not touch it`,
        waiting: true,
      };
    }
  }

  private async createKeySecret(
    policy: EncryptionPolicy,
    secretName: string,
    rotateRequest: string | undefined,
  ): Promise<V1Secret> {
    const { namespace, name } = policy.metadata;
    const body = newKeySecret({
      name: secretName,
      namespace,
      policyName: name,
      now: this.now(),
      rotateRequest,
    });
    try {
      const created = await this.core.createNamespacedSecret({ namespace, body });
      this.log.info({ policy: `${namespace}/${name}`, secret: secretName }, 'key minted');
      await this.events.record(
        this.involved(policy),
        'Normal',
        'KeyCreated',
        `Minted key v1 in Secret ${secretName}`,
      );
      return created;
    } catch (err: unknown) {
      // Another replica (or a previous run that lost its answer) created it: use that one.
      if (!isAlreadyExists(err)) throw err;
      const theirs = await this.readSecret(namespace, secretName);
      if (!theirs) throw err;
      return theirs;
    }
  }

  /** Adds a version; replace() carries the resourceVersion, so a concurrent writer makes this fail and retry. */
  private async rotate(
    policy: EncryptionPolicy,
    secret: V1Secret,
    now: Date,
    rotateRequest: string | undefined,
    isRequested: boolean,
  ): Promise<V1Secret> {
    const { namespace } = policy.metadata;
    const previous = keyVersions(secret);
    const next = withNewVersion(secret, now, rotateRequest);
    const replaced = await this.core.replaceNamespacedSecret({
      namespace,
      name: secret.metadata!.name!,
      body: next.secret,
    });
    this.metrics?.keyRotations.inc();
    const why = isRequested ? `requested by annotation ${ANNOTATION_ROTATE_KEY}` : 'rotation period elapsed';
    this.log.info(
      { policy: `${namespace}/${policy.metadata.name}`, version: next.version, why },
      'key rotated',
    );
    await this.events.record(
      this.involved(policy),
      'Normal',
      'KeyRotated',
      `${next.version} is now the active key (${why}); ${previous.join(', ')} kept for the objects sealed under them`,
    );
    return replaced;
  }

  private async prune(
    policy: EncryptionPolicy,
    secret: V1Secret,
    pruned: readonly string[],
  ): Promise<V1Secret> {
    const { namespace } = policy.metadata;
    const replaced = await this.core.replaceNamespacedSecret({
      namespace,
      name: secret.metadata!.name!,
      body: withoutVersions(secret, pruned),
    });
    await this.events.record(
      this.involved(policy),
      'Warning',
      'KeyVersionsPruned',
      `Removed key ${pruned.join(', ')} (spec.key.managed.retainVersions=${policy.spec.key.managed?.retainVersions}): objects sealed under them can no longer be read`,
    );
    return replaced;
  }

  /** A re-created policy takes its keys back. */
  private async adopt(policy: EncryptionPolicy, secret: V1Secret): Promise<V1Secret> {
    const { namespace } = policy.metadata;
    const patched = await this.core.patchNamespacedSecret(
      {
        namespace,
        name: secret.metadata!.name!,
        body: { metadata: { annotations: { [ANNOTATION_ORPHANED]: null } } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await this.events.record(
      this.involved(policy),
      'Normal',
      'KeyAdopted',
      `Using the key versions kept in Secret ${secret.metadata!.name!} (active ${activeVersion(secret)})`,
    );
    return patched;
  }

  /**
   * The policy is gone; its keys are not. Key Secrets carry no ownerReference, so nothing
   * garbage-collects them; this marks them orphaned and says so in an Event on each, once.
   */
  private async keepOrphanedKeys(namespace: string, policyName: string): Promise<void> {
    const secrets = await this.core.listNamespacedSecret({
      namespace,
      labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY},${LABEL_POLICY}=${policyName},${LABEL_COMPONENT}=kek`,
    });
    for (const secret of secrets.items) {
      if (secret.metadata?.annotations?.[ANNOTATION_ORPHANED] !== undefined) continue;
      const name = secret.metadata!.name!;
      await this.core.patchNamespacedSecret(
        {
          namespace,
          name,
          body: { metadata: { annotations: { [ANNOTATION_ORPHANED]: this.now().toISOString() } } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      this.log.warn(
        { policy: `${namespace}/${policyName}`, secret: name },
        'policy deleted; key Secret kept',
      );
      await this.events.record(
        {
          apiVersion: 'v1',
          kind: 'Secret',
          name,
          namespace,
          ...(secret.metadata?.uid ? { uid: secret.metadata.uid } : {}),
        },
        'Warning',
        'KeyOrphaned',
        `EncryptionPolicy ${namespace}/${policyName} was deleted; this key Secret is kept so the objects sealed with it stay readable. Re-create the policy to use it again, or delete this Secret once no object needs it.`,
      );
    }
  }

  /** The proxy configuration for the sidecar; a problem when it cannot be written. */
  private async reconcileConfigMap(policy: EncryptionPolicy): Promise<Problem | undefined> {
    const { namespace, name, uid } = policy.metadata;
    const configMapName = proxyConfigMapName(policy);
    const body: V1ConfigMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: configMapName,
        namespace,
        labels: { [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_POLICY]: name, [LABEL_COMPONENT]: 'proxy-config' },
        // Owned: configuration is derived data, so it goes with the policy (the keys do not).
        ...(uid
          ? {
              ownerReferences: [
                {
                  apiVersion: API_VERSION,
                  kind: KIND,
                  name,
                  uid,
                  controller: true,
                  blockOwnerDeletion: false,
                },
              ],
            }
          : {}),
      },
      data: { [PROXY_CONFIG_KEY]: renderProxyConfigYaml(policy) },
    };
    let current: V1ConfigMap | undefined;
    try {
      current = await this.core.readNamespacedConfigMap({ namespace, name: configMapName });
    } catch (err: unknown) {
      if (!isNotFound(err)) throw err;
    }
    if (!current) {
      try {
        await this.core.createNamespacedConfigMap({ namespace, body });
      } catch (err: unknown) {
        if (!isAlreadyExists(err)) throw err;
        throw new Error(`ConfigMap ${namespace}/${configMapName} appeared meanwhile; retrying`, {
          cause: err,
        });
      }
      return undefined;
    }
    if (current.metadata?.labels?.[LABEL_MANAGED_BY] !== MANAGED_BY) {
      return {
        reason: 'ConfigMapConflict',
        message: `ConfigMap ${namespace}/${configMapName} exists and is not managed by s3seal-operator: delete or rename it`,
        waiting: true,
      };
    }
    if (current.data?.[PROXY_CONFIG_KEY] !== body.data![PROXY_CONFIG_KEY]) {
      body.metadata!.resourceVersion = current.metadata?.resourceVersion;
      await this.core.replaceNamespacedConfigMap({ namespace, name: configMapName, body });
    }
    return undefined;
  }

  /** The Secrets the sidecar reads through the kubelet: a pod would not start without them. */
  private async checkReferencedSecrets(policy: EncryptionPolicy): Promise<Problem[]> {
    const { namespace } = policy.metadata;
    const problems: Problem[] = [];
    const refs: { what: string; field: string; name: string; keys: string[] }[] = [];
    const credentials = policy.spec.upstream.credentialsSecretRef;
    refs.push({
      what: 'Credentials',
      field: 'spec.upstream.credentialsSecretRef',
      name: credentials.name,
      keys: [credentials.accessKeyIdKey, credentials.secretAccessKeyKey],
    });
    const password =
      policy.spec.multipart.mode === 'encrypt' ? policy.spec.multipart.valkey?.passwordSecretRef : undefined;
    if (password) {
      refs.push({
        what: 'ValkeyPassword',
        field: 'spec.multipart.valkey.passwordSecretRef',
        name: password.name,
        keys: [password.key],
      });
    }
    for (const ref of refs) {
      const secret = await this.readSecret(namespace, ref.name);
      if (!secret) {
        problems.push({
          reason: `${ref.what}SecretNotFound`,
          message: `Secret ${namespace}/${ref.name} (${ref.field}) not found: create it`,
          waiting: true,
        });
        continue;
      }
      const missing = ref.keys.filter(
        (k) => secret.data?.[k] === undefined && secret.stringData?.[k] === undefined,
      );
      if (missing.length > 0) {
        problems.push({
          reason: `${ref.what}KeyMissing`,
          message: `Secret ${namespace}/${ref.name} (${ref.field}) has no ${missing.join(', ')}: add the key or point the policy at the right one`,
          waiting: true,
        });
      }
    }
    return problems;
  }

  private async writeStatus(
    policy: EncryptionPolicy,
    key: KeyOutcome,
    problems: readonly Problem[],
  ): Promise<void> {
    this.metrics?.observePolicy(policy.metadata.namespace, policy.metadata.name, {
      isReady: problems.length === 0,
      ...(key.ok && key.nextRotation ? { nextRotation: key.nextRotation } : {}),
      ...(key.ok ? { activeVersion: key.active } : {}),
    });
    const now = this.now();
    const generation = policy.metadata.generation;
    const observed = generation === undefined ? {} : { observedGeneration: generation };
    let conditions: Condition[] = policy.status?.conditions ?? [];
    conditions = setCondition(
      conditions,
      key.ok
        ? {
            type: CONDITION_KEY_READY,
            status: 'True',
            reason: 'KeyAvailable',
            message: `key ${key.active} active, ${key.versions} version(s) in Secret ${key.secretName}`,
            ...observed,
          }
        : {
            type: CONDITION_KEY_READY,
            status: 'False',
            reason: key.reason,
            message: key.message,
            ...observed,
          },
      now,
    );
    const first = problems[0];
    conditions = setCondition(
      conditions,
      first
        ? {
            type: CONDITION_READY,
            status: 'False',
            reason: first.reason,
            message: problems.map((p) => p.message).join('; '),
            ...observed,
          }
        : {
            type: CONDITION_READY,
            status: 'True',
            reason: 'Ready',
            message: `pods annotated s3seal.io/inject: "true" and s3seal.io/policy: ${policy.metadata.name} get the encrypting proxy`,
            ...observed,
          },
      now,
    );
    const status: EncryptionPolicyStatus = {
      ...observed,
      conditions,
      configMapName: proxyConfigMapName(policy),
      ...(key.ok
        ? {
            activeKeyVersion: key.active,
            keyVersions: key.versions,
            keySecretName: key.secretName,
            keyringId: key.keyringId,
            ...(key.lastRotation ? { lastRotationTime: isoSeconds(key.lastRotation) } : {}),
            ...(key.nextRotation ? { nextRotationTime: isoSeconds(key.nextRotation) } : {}),
          }
        : // Keep what was last known of the key: it is how a lost key Secret is recognised (and
          // never silently replaced) on the next run.
          pickKeyStatus(policy.status)),
    };
    if (JSON.stringify(normalise(status)) === JSON.stringify(normalise(policy.status ?? {}))) return;
    const { namespace, name } = policy.metadata;
    try {
      // Merge patch of the whole status: fields no longer true (a key gone bad) are nulled.
      const cleared = Object.fromEntries(
        Object.keys(policy.status ?? {})
          .filter((k) => !(k in status))
          .map((k) => [k, null]),
      );
      await this.custom.patchNamespacedCustomObjectStatus(
        {
          group: GROUP,
          version: VERSION,
          namespace,
          plural: PLURAL,
          name,
          body: { status: { ...cleared, ...status } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    } catch (err: unknown) {
      if (isNotFound(err)) return;
      throw new Error(`writing the status of ${namespace}/${name}: ${describeApiError(err)}`, { cause: err });
    }
  }
}

function pickKeyStatus(status: EncryptionPolicyStatus | undefined): EncryptionPolicyStatus {
  if (!status) return {};
  const { activeKeyVersion, keyVersions, keySecretName, keyringId, lastRotationTime } = status;
  return Object.fromEntries(
    Object.entries({ activeKeyVersion, keyVersions, keySecretName, keyringId, lastRotationTime }).filter(
      ([, v]) => v !== undefined,
    ),
  );
}

/** Key order does not matter when comparing statuses. */
function normalise(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalise);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, normalise((value as Record<string, unknown>)[k])]),
  );
}
