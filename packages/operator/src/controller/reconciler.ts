import { createHash } from 'node:crypto';

import type { CoreV1Api, CustomObjectsApi, V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { Logger } from 'pino';

import {
  CONDITION_KEY_MANAGER_READY,
  CONDITION_KEY_READY,
  CONDITION_READY,
  findCondition,
  isoSeconds,
  removeCondition,
  setCondition,
} from '../api/conditions.js';
import { effectiveKeySource, isExternalKeySource } from '../api/defaults.js';
import type { KeySource } from '../api/defaults.js';
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
import { PROXY_CONFIG_KEY, PROXY_KEY_SOURCE, renderProxyConfigYaml } from '../render/proxy-config.js';
import { KeyProvidersProbe, PROBE_UNAVAILABLE } from './key-manager-probe.js';
import type { KeyManagerProbe, KeyManagerTarget } from './key-manager-probe.js';
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
/** Default of ReconcilerOptions.keyManagerProbeMs. */
const KEY_MANAGER_PROBE_MS = 60_000;
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
  /** Asks Vault / KMS whether a policy's key is usable (default: @s3seal/key-providers). */
  readonly keyManagerProbe?: KeyManagerProbe;
  /** How often a policy with an external key source is probed again (default 60 s). */
  readonly keyManagerProbeMs?: number;
}

/** A keyring Secret the sidecar mounts: the active source, or a read-only one for old objects. */
interface KeyringState {
  readonly secretName: string;
  readonly keyringId: string;
  readonly active: string;
  readonly versions: number;
  readonly lastRotation?: Date;
  readonly nextRotation?: Date;
}

/** What reconciling the key settled on; feeds the KeyReady condition and the status. */
type KeyOutcome =
  | { readonly ok: false; readonly reason: string; readonly message: string; readonly waiting: boolean }
  | { readonly ok: true; readonly source: KeySource; readonly keyring?: KeyringState };

/** What probing the policy's external key managers found; feeds KeyManagerReady. */
interface KeyManagerHealth {
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message: string;
  /** Per configured source: up (1) or not (0), for the metric. */
  readonly up: Readonly<Partial<Record<KeyManagerTarget['kind'], boolean>>>;
}

type Problem = { readonly reason: string; readonly message: string; readonly waiting: boolean };

/** A policy whose name cannot be a keyring id and which sets none: only the spec can fix it. */
const INVALID_KEYRING_ID: KeyOutcome = {
  ok: false,
  reason: 'InvalidKeyringId',
  message: 'the policy name is too long or not lowercase enough to be a keyring id: set spec.key.keyringId',
  waiting: false,
};

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
  private readonly probe: KeyManagerProbe;
  private readonly probeMs: number;
  /** Last probe per policy, so the reconcile our own status write triggers does not probe again. */
  private readonly probed = new Map<string, { fingerprint: string; at: number; health: KeyManagerHealth }>();

  constructor(options: ReconcilerOptions) {
    this.metrics = options.metrics;
    this.probe = options.keyManagerProbe ?? new KeyProvidersProbe();
    this.probeMs = options.keyManagerProbeMs ?? KEY_MANAGER_PROBE_MS;
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
      this.probed.delete(key);
      await this.keepOrphanedKeys(namespace, name);
      return;
    }
    // Deleting: nothing to finalize (no finalizer is set); the key Secret outlives it.
    if (policy.metadata.deletionTimestamp) return;

    const source = effectiveKeySource(policy.spec);
    const key_ = isExternalKeySource(source)
      ? await this.reconcileExternalKey(policy, source)
      : await this.reconcileKey(policy);
    const problems: Problem[] = [];
    if (!key_.ok) problems.push({ ...key_, reason: 'KeyNotReady', message: `key: ${key_.message}` });
    else {
      const config = await this.reconcileConfigMap(policy, key_.keyring?.secretName ?? null);
      if (config) problems.push(config);
    }
    problems.push(...(await this.checkReferencedSecrets(policy)));
    // Health, not configuration: it never blocks the ConfigMap, Ready, or injection.
    const health = await this.probeKeyManagers(key, policy);

    await this.writeStatus(policy, key_, problems, health);
    const waits = problems.some((p) => p.waiting) ? [this.waitingRequeueMs] : [];
    if (health) waits.push(this.probeMs);
    const nextRotation = key_.ok ? key_.keyring?.nextRotation : undefined;
    if (nextRotation) waits.push(Math.max(1_000, nextRotation.getTime() - this.now().getTime()));
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
    if (keyringId === undefined) return INVALID_KEYRING_ID;
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
      return this.withIdCheck(policy, this.keyringOutcome(policy, secret, secretName, keyringId, undefined));
    }

    const rotateRequest = policy.metadata.annotations?.[ANNOTATION_ROTATE_KEY];
    const hadKeys =
      policy.status?.activeKeyVersion !== undefined || policy.status?.keySecretName === secretName;
    if (!secret && hadKeys) {
      // The policy had keys, and someone deleted them. Minting a fresh v1 would hide that every
      // object sealed so far is now unreadable: stop, and say how to recover.
      return {
        ok: false,
        reason: 'KeySecretLost',
        message: `Secret ${namespace}/${secretName} held this policy's keys${policy.status?.activeKeyVersion ? ` (active ${policy.status.activeKeyVersion})` : ''} and is gone: restore it from a backup. Objects sealed with it cannot be read without it. To start over with a new key, delete and re-create the policy`,
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
    const parsed = this.keyringOutcome(policy, secret, secretName, keyringId, undefined);
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
    const outcome = this.keyringOutcome(
      policy,
      secret,
      secretName,
      keyringId,
      periodMs === undefined
        ? { last: rotatedAt }
        : { last: rotatedAt, next: new Date(rotatedAt.getTime() + periodMs) },
    );
    return this.withIdCheck(policy, outcome);
  }

  /**
   * Vault or KMS wraps new data keys. The operator mints and rotates nothing; a keyring the
   * policy has (key.existingSecret, or the managed keyring of its past) stays a read-only
   * source, so the objects it sealed stay readable. It is never deleted.
   */
  private async reconcileExternalKey(policy: EncryptionPolicy, source: KeySource): Promise<KeyOutcome> {
    const { namespace, name } = policy.metadata;
    const existing = policy.spec.key.existingSecret;
    const secretName = keySecretName(policy);
    const secret = await this.readSecret(namespace, secretName);
    const vault = policy.spec.key.vaultTransit;
    if (
      vault &&
      /^http:/.test(vault.address) &&
      !isLoopbackUrl(vault.address) &&
      !policy.spec.upstream.allowInsecureHttp
    ) {
      return {
        ok: false,
        reason: 'VaultInsecureAddress',
        message: `spec.key.vaultTransit.address ${vault.address} is plain http: data keys would cross the network in clear, and the proxy refuses it. Use https, or set spec.upstream.allowInsecureHttp`,
        waiting: false,
      };
    }
    let keyring: KeyringState | undefined;
    if (existing || (secret && isOwnKeySecret(secret, name))) {
      if (!secret) {
        return {
          ok: false,
          reason: 'KeySecretNotFound',
          message: `Secret ${namespace}/${secretName} (spec.key.existingSecret) not found: create it, or remove spec.key.existingSecret if no object needs it`,
          waiting: true,
        };
      }
      const keyringId = keyringIdOf(policy);
      if (keyringId === undefined) return INVALID_KEYRING_ID;
      const parsed = this.keyringOutcome(
        policy,
        existing ? secret : await this.unorphan(policy, secret),
        secretName,
        keyringId,
        undefined,
      );
      if (!parsed.ok) return parsed;
      keyring = parsed.keyring;
    } else if (!secret && policy.status?.keySecretName === secretName) {
      return {
        ok: false,
        reason: 'KeySecretLost',
        message: `Secret ${namespace}/${secretName} held this policy's keyring, kept to read the objects sealed before ${source}, and is gone: restore it from a backup. If no object needs it any more, clear status.keySecretName (kubectl patch encpol ${name} -n ${namespace} --subresource=status --type=merge -p '{"status":{"keySecretName":null}}')`,
        waiting: true,
      };
    }
    return this.withIdCheck(policy, { ok: true, source, ...(keyring ? { keyring } : {}) });
  }

  /** Removes the orphan mark of an own keyring Secret the policy uses again. */
  private async unorphan(policy: EncryptionPolicy, secret: V1Secret): Promise<V1Secret> {
    return secret.metadata?.annotations?.[ANNOTATION_ORPHANED] === undefined
      ? secret
      : this.adopt(policy, secret);
  }

  /** Objects name their key source; two configured sources of one name would be ambiguous. */
  private withIdCheck(policy: EncryptionPolicy, outcome: KeyOutcome): KeyOutcome {
    if (!outcome.ok) return outcome;
    const ids: [string, string][] = [];
    if (outcome.keyring)
      ids.push(['the keyring (spec.key.keyringId, default: the policy name)', outcome.keyring.keyringId]);
    const { vaultTransit, awsKms } = policy.spec.key;
    if (vaultTransit) ids.push(['spec.key.vaultTransit.sourceId', vaultTransit.sourceId]);
    if (awsKms) ids.push(['spec.key.awsKms.sourceId', awsKms.sourceId]);
    for (const [i, [what, id]] of ids.entries()) {
      const clash = ids.slice(i + 1).find(([, other]) => other === id);
      if (clash) {
        return {
          ok: false,
          reason: 'KeySourceIdConflict',
          message: `${what} and ${clash[0]} are both "${id}": each key source needs its own name (objects record it). Set a different one`,
          waiting: false,
        };
      }
    }
    return outcome;
  }

  private keyringOutcome(
    policy: EncryptionPolicy,
    secret: V1Secret,
    secretName: string,
    keyringId: string,
    rotation: { last: Date; next?: Date } | undefined,
  ): KeyOutcome {
    try {
      const keyring = parseKeyring(secret, keyringId);
      return {
        ok: true,
        source: effectiveKeySource(policy.spec),
        keyring: {
          secretName,
          keyringId,
          active: keyring.activeVersion,
          versions: keyVersions(secret).length,
          ...(rotation ? { lastRotation: rotation.last } : {}),
          ...(rotation?.next ? { nextRotation: rotation.next } : {}),
        },
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
  private async reconcileConfigMap(
    policy: EncryptionPolicy,
    keyringSecret: string | null,
  ): Promise<Problem | undefined> {
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
      data: { [PROXY_CONFIG_KEY]: renderProxyConfigYaml(policy, keyringSecret) },
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
    const { vaultTransit: vault, awsKms: kms } = policy.spec.key;
    const token = vault?.auth.tokenSecretRef;
    if (token) {
      refs.push({
        what: 'VaultToken',
        field: 'spec.key.vaultTransit.auth.tokenSecretRef',
        name: token.name,
        keys: [token.key],
      });
    }
    if (vault?.caSecretRef) {
      refs.push({
        what: 'VaultCA',
        field: 'spec.key.vaultTransit.caSecretRef',
        name: vault.caSecretRef.name,
        keys: [vault.caSecretRef.key],
      });
    }
    const kmsCredentials = kms?.credentialsSecretRef;
    if (kmsCredentials) {
      refs.push({
        what: 'KMSCredentials',
        field: 'spec.key.awsKms.credentialsSecretRef',
        name: kmsCredentials.name,
        keys: [kmsCredentials.accessKeyIdKey, kmsCredentials.secretAccessKeyKey],
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

  /**
   * Asks each external key manager the policy configures (the active one and any kept for old
   * objects) whether its key is usable, as the operator sees it; undefined when there is none.
   * A probe lasts probeMs / 2: the reconcile that follows our own status write reuses it.
   */
  private async probeKeyManagers(
    key: string,
    policy: EncryptionPolicy,
  ): Promise<KeyManagerHealth | undefined> {
    const { vaultTransit: vault, awsKms: kms } = policy.spec.key;
    if (!vault && !kms) {
      this.probed.delete(key);
      return undefined;
    }
    const { namespace } = policy.metadata;
    const targets: KeyManagerTarget[] = [];
    const missing: string[] = [];
    const read = async (ref: { name: string; key: string }, field: string): Promise<string | undefined> => {
      const secret = await this.readSecret(namespace, ref.name);
      const data = secret?.data?.[ref.key];
      if (data === undefined) missing.push(`Secret ${namespace}/${ref.name} key ${ref.key} (${field})`);
      return data === undefined ? undefined : Buffer.from(data, 'base64').toString('utf8');
    };
    if (vault) {
      const token = vault.auth.tokenSecretRef
        ? await read(vault.auth.tokenSecretRef, 'spec.key.vaultTransit.auth.tokenSecretRef')
        : undefined;
      const caPem = vault.caSecretRef
        ? await read(vault.caSecretRef, 'spec.key.vaultTransit.caSecretRef')
        : undefined;
      const kubernetes = vault.auth.kubernetes;
      targets.push({
        kind: 'vault-transit',
        options: {
          id: vault.sourceId,
          address: vault.address,
          mount: vault.mount,
          key: vault.keyName,
          ...(vault.namespace === undefined ? {} : { namespace: vault.namespace }),
          auth: kubernetes
            ? { method: 'kubernetes', role: kubernetes.role, mount: kubernetes.mountPath }
            : { method: 'token', token: (token ?? '').trim() },
          ...(caPem === undefined ? {} : { caPem }),
        },
      });
    }
    if (kms) {
      // Without a KMS key pair the sidecar's AWS SDK takes the standard chain, whose first link
      // (the environment) holds the upstream key pair: probe as the sidecar will call.
      const ref = kms.credentialsSecretRef ?? policy.spec.upstream.credentialsSecretRef;
      const field = kms.credentialsSecretRef
        ? 'spec.key.awsKms.credentialsSecretRef'
        : 'spec.upstream.credentialsSecretRef';
      const accessKeyId = await read({ name: ref.name, key: ref.accessKeyIdKey }, field);
      const secretAccessKey = await read({ name: ref.name, key: ref.secretAccessKeyKey }, field);
      const arnRegion = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):/.exec(kms.keyId)?.[1];
      targets.push({
        kind: 'aws-kms',
        options: {
          id: kms.sourceId,
          keyId: kms.keyId,
          region: kms.region ?? arnRegion ?? policy.spec.upstream.region,
          ...(kms.endpoint === undefined ? {} : { endpoint: kms.endpoint }),
          ...(kms.previousKeyArns?.length ? { previousKeyArns: kms.previousKeyArns } : {}),
          ...(accessKeyId !== undefined && secretAccessKey !== undefined
            ? { credentials: { accessKeyId, secretAccessKey } }
            : {}),
        },
      });
    }
    if (missing.length > 0) {
      this.probed.delete(key);
      return {
        status: 'Unknown',
        reason: 'ProbeSkipped',
        message: `cannot ask the key manager without ${missing.join(', ')}`,
        up: {},
      };
    }
    // Secrets only ever enter the fingerprint hashed.
    const fingerprint = createHash('sha256').update(JSON.stringify(targets)).digest('hex');
    const cached = this.probed.get(key);
    const now = Date.now();
    if (cached && cached.fingerprint === fingerprint && now - cached.at < this.probeMs / 2)
      return cached.health;

    // The active source first: its answer names the condition's reason when both fail.
    const active = PROXY_KEY_SOURCE[effectiveKeySource(policy.spec)];
    targets.sort((a, b) => Number(b.kind === active) - Number(a.kind === active));
    const results = await Promise.all(
      targets.map(async (t) => ({ kind: t.kind, ...(await this.probe.probe(t)) })),
    );
    const label = { 'vault-transit': 'Vault Transit', 'aws-kms': 'AWS KMS' } as const;
    const message = results
      .map((r) => `${label[r.kind]}${r.kind === active ? '' : ' (read-only)'}: ${r.reason}: ${r.message}`)
      .join('; ');
    const failed = results.find((r) => !r.ok);
    const health: KeyManagerHealth = {
      status: !failed
        ? 'True'
        : results.every((r) => r.ok || r.reason === PROBE_UNAVAILABLE)
          ? 'Unknown'
          : 'False',
      reason: (failed ?? results[0]!).reason,
      message,
      up: Object.fromEntries(
        results.filter((r) => r.reason !== PROBE_UNAVAILABLE).map((r) => [r.kind, r.ok]),
      ),
    };
    this.probed.set(key, { fingerprint, at: now, health });
    return health;
  }

  private async writeStatus(
    policy: EncryptionPolicy,
    key: KeyOutcome,
    problems: readonly Problem[],
    health: KeyManagerHealth | undefined,
  ): Promise<void> {
    const keyring = key.ok ? key.keyring : undefined;
    const source = effectiveKeySource(policy.spec);
    const isKeyringActive = !isExternalKeySource(source);
    this.metrics?.observePolicy(policy.metadata.namespace, policy.metadata.name, {
      isReady: problems.length === 0,
      ...(keyring?.nextRotation ? { nextRotation: keyring.nextRotation } : {}),
      ...(keyring && isKeyringActive ? { activeVersion: keyring.active } : {}),
      isKeyringActive,
      keyManagersUp: health?.up ?? {},
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
            message: keyReadyMessage(policy, key.source, keyring),
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
    const previousHealth = findCondition(policy, CONDITION_KEY_MANAGER_READY);
    if (health) {
      conditions = setCondition(
        conditions,
        {
          type: CONDITION_KEY_MANAGER_READY,
          status: health.status,
          reason: health.reason,
          message: health.message,
          ...observed,
        },
        now,
      );
    } else conditions = removeCondition(conditions, CONDITION_KEY_MANAGER_READY);
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
      keySource: source,
      ...(key.ok
        ? keyring
          ? {
              // The keyring's active version seals new objects only while the keyring is the source.
              ...(isKeyringActive ? { activeKeyVersion: keyring.active } : {}),
              keyVersions: keyring.versions,
              keySecretName: keyring.secretName,
              keyringId: keyring.keyringId,
              ...(keyring.lastRotation ? { lastRotationTime: isoSeconds(keyring.lastRotation) } : {}),
              ...(keyring.nextRotation ? { nextRotationTime: isoSeconds(keyring.nextRotation) } : {}),
            }
          : {}
        : // Keep what was last known of the key: it is how a lost key Secret is recognised (and
          // never silently replaced) on the next run.
          pickKeyStatus(policy.status)),
    };
    const { namespace, name } = policy.metadata;
    const current = findCondition({ ...policy, status }, CONDITION_KEY_MANAGER_READY);
    if (current && (current.status !== previousHealth?.status || current.reason !== previousHealth?.reason)) {
      // Transitions only (a first probe counts): a steady state leaves no trail of Events.
      this.log.info(
        { policy: `${namespace}/${name}`, status: current.status, reason: current.reason },
        'key manager health changed',
      );
      await this.events.record(
        this.involved(policy),
        current.status === 'True' ? 'Normal' : 'Warning',
        current.status === 'True' ? 'KeyManagerHealthy' : 'KeyManagerUnhealthy',
        `${current.reason}: ${current.message}`,
      );
    }
    if (JSON.stringify(normalise(status)) === JSON.stringify(normalise(policy.status ?? {}))) return;
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

/** The KeyReady message: what wraps new data keys, and what else still opens old objects. */
function keyReadyMessage(
  policy: EncryptionPolicy,
  source: KeySource,
  keyring: KeyringState | undefined,
): string {
  const { vaultTransit: vault, awsKms: kms } = policy.spec.key;
  const vaultText = vault ? `Vault Transit key ${vault.mount}/${vault.keyName} at ${vault.address}` : '';
  const kmsText = kms ? `AWS KMS key ${kms.keyId}` : '';
  const keyringText = keyring
    ? `keyring in Secret ${keyring.secretName} (${keyring.versions} version(s))`
    : '';
  if (!isExternalKeySource(source) && keyring) {
    const readers = [vaultText, kmsText].filter(Boolean);
    return `key ${keyring.active} active, ${keyring.versions} version(s) in Secret ${keyring.secretName}${readers.length > 0 ? `; ${readers.join(', ')} kept for older objects` : ''}`;
  }
  const active = source === 'VaultTransit' ? vaultText : kmsText;
  const readers = [source === 'VaultTransit' ? kmsText : vaultText, keyringText].filter(Boolean);
  return `new objects are sealed with ${active}${readers.length > 0 ? `; ${readers.join(', ')} kept for older objects` : ''}`;
}

/** Whether a URL's host is the loopback interface (plain http is fine there). */
function isLoopbackUrl(text: string): boolean {
  try {
    const host = new URL(text).hostname;
    return host === 'localhost' || host === '[::1]' || /^127\./.test(host);
  } catch {
    return false;
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
