import type { V1Container, V1EnvVar, V1Pod, V1PodSpec } from '@kubernetes/client-node';

import { findCondition, isPolicyReady, CONDITION_READY } from '../api/conditions.js';
import {
  ANNOTATION_INJECT,
  ANNOTATION_INJECTION_STATUS,
  ANNOTATION_POLICY,
  SIDECAR_NAME,
  LABEL_INJECTED,
} from '../api/names.js';
import type { EncryptionPolicy } from '../api/types.js';
import { keyringSecretOf, proxyConfigMapName } from '../render/names.js';
import { endpointEnv, SIDECAR_PORT_NAME, sidecarContainer, sidecarVolumes } from './sidecar.js';
import type { SidecarDefaults } from './sidecar.js';
import { jsonPatchEscape } from '../webhook/admission-review.js';
import type { JsonPatchOperation } from '../webhook/admission-review.js';

/** What the webhook does with a pod. */
export type InjectionDecision =
  | { readonly kind: 'skip'; readonly reason: 'NotRequested' | 'AlreadyInjected'; readonly message: string }
  | { readonly kind: 'deny'; readonly reason: string; readonly message: string }
  | {
      readonly kind: 'inject';
      readonly patch: readonly JsonPatchOperation[];
      readonly record: InjectionRecord;
    }
  /** Reinvoked on an injected pod: point containers added since then at the proxy. */
  | { readonly kind: 'repoint'; readonly patch: readonly JsonPatchOperation[] };

/** The value of the s3seal.io/status annotation: what was injected, so it is never done twice. */
export interface InjectionRecord {
  readonly version: 1;
  readonly policy: string;
  readonly sidecar: string;
  readonly image: string;
  readonly configMap: string;
  /** The keyring Secret mounted, if any (none when only Vault or KMS hold the keys). */
  readonly keySecret?: string;
  /** Containers (and init containers) whose S3 endpoint now points at the sidecar. */
  readonly containers: readonly string[];
}

/** Looks a policy up in the pod's namespace; undefined when there is none. */
export type PolicyLookup = (namespace: string, name: string) => Promise<EncryptionPolicy | undefined>;

/**
 * Decides what to do with a pod at admission: skip it (not asked for, or already injected),
 * deny it (asked for, but encryption cannot be guaranteed: fail closed, saying what to fix),
 * or inject the proxy.
 */
export async function decideInjection(
  pod: V1Pod,
  namespace: string,
  lookup: PolicyLookup,
  defaults: SidecarDefaults,
): Promise<InjectionDecision> {
  const annotations = pod.metadata?.annotations ?? {};
  if (annotations[ANNOTATION_INJECT] !== 'true')
    return { kind: 'skip', reason: 'NotRequested', message: `${ANNOTATION_INJECT} is not "true"` };
  const spec = pod.spec;
  if (!spec) return { kind: 'deny', reason: 'NoPodSpec', message: 'the pod has no spec' };
  const injected = spec.initContainers?.find((c) => c.name === SIDECAR_NAME);
  const isRecorded = annotations[ANNOTATION_INJECTION_STATUS] !== undefined;
  // Both, or neither: a pod must not talk its way past injection by carrying our record or a
  // container of our name that we did not put there (fail closed).
  if (injected && isRecorded) return reinvocation(spec, injected);
  if (injected || isRecorded) {
    return {
      kind: 'deny',
      reason: 'InjectionTampered',
      message: injected
        ? `the pod already has an init container named ${SIDECAR_NAME} that s3seal did not inject: rename it`
        : `the pod carries the ${ANNOTATION_INJECTION_STATUS} annotation but no ${SIDECAR_NAME} sidecar: remove the annotation`,
    };
  }
  const policyName = annotations[ANNOTATION_POLICY];
  if (!policyName) {
    return {
      kind: 'deny',
      reason: 'PolicyNotNamed',
      message: `the pod asks for s3seal injection (${ANNOTATION_INJECT}: "true") but names no EncryptionPolicy: add the annotation ${ANNOTATION_POLICY}: <policy name in namespace ${namespace}>`,
    };
  }
  if (spec.shareProcessNamespace) {
    return {
      kind: 'deny',
      reason: 'SharedProcessNamespace',
      message: `s3seal does not inject into pods with shareProcessNamespace: the app's containers could read the proxy's memory and key files through /proc. Turn it off, or remove ${ANNOTATION_INJECT}`,
    };
  }
  if (spec.hostNetwork) {
    return {
      kind: 'deny',
      reason: 'HostNetwork',
      message: `s3seal does not inject into hostNetwork pods: the proxy's loopback port would be shared with the node. Run the pod without hostNetwork, or remove ${ANNOTATION_INJECT}`,
    };
  }
  const policy = await lookup(namespace, policyName);
  if (!policy) {
    return {
      kind: 'deny',
      reason: 'PolicyNotFound',
      message: `EncryptionPolicy ${namespace}/${policyName} (annotation ${ANNOTATION_POLICY}) does not exist: create it in this namespace, or fix the annotation`,
    };
  }
  if (!isPolicyReady(policy)) {
    const ready = findCondition(policy, CONDITION_READY);
    return {
      kind: 'deny',
      reason: 'PolicyNotReady',
      message: `EncryptionPolicy ${namespace}/${policyName} is not Ready${ready ? ` (${ready.reason}: ${ready.message})` : ' yet (the operator has not reconciled it)'}; fix it and re-create the pod`,
    };
  }
  const { port, healthPort } = policy.spec.sidecar;
  const clash = [...(spec.containers ?? []), ...(spec.initContainers ?? [])].find((c) =>
    c.ports?.some((p) => p.containerPort === port || p.containerPort === healthPort),
  );
  if (clash) {
    return {
      kind: 'deny',
      reason: 'PortConflict',
      message: `container ${clash.name} already uses port ${port} or ${healthPort}, which the s3seal proxy needs: set spec.sidecar.port / spec.sidecar.healthPort of EncryptionPolicy ${namespace}/${policyName} to free ports`,
    };
  }
  const sidecar = sidecarContainer(policy, defaults);
  const volumes = sidecarVolumes(policy);
  // A container that already mounts a volume of our name would get the key Secret once injected.
  const ours = new Set(volumes.map((v) => v.name));
  const mounter = [...spec.containers, ...(spec.initContainers ?? [])].find((c) =>
    c.volumeMounts?.some((m) => ours.has(m.name)),
  );
  if (mounter) {
    return {
      kind: 'deny',
      reason: 'VolumeConflict',
      message: `container ${mounter.name} mounts a volume named like one s3seal injects (${[...ours].join(', ')}); only the proxy may mount the key Secret`,
    };
  }
  const volumeClash = volumes.find((v) => (spec.volumes ?? []).some((existing) => existing.name === v.name));
  if (volumeClash) {
    return {
      kind: 'deny',
      reason: 'VolumeConflict',
      message: `the pod already has a volume named ${volumeClash.name}, which s3seal injects; rename it`,
    };
  }

  const patch: JsonPatchOperation[] = [];
  patch.push(
    spec.initContainers === undefined
      ? { op: 'add', path: '/spec/initContainers', value: [sidecar] }
      : // First, so the pod's other init containers can already use S3 through it.
        { op: 'add', path: '/spec/initContainers/0', value: sidecar },
  );
  if (spec.volumes === undefined) patch.push({ op: 'add', path: '/spec/volumes', value: volumes });
  else for (const volume of volumes) patch.push({ op: 'add', path: '/spec/volumes/-', value: volume });

  const endpoint = endpointEnv(policy.spec.sidecar.port);
  const pointed: string[] = [];
  const pointAt = (
    containers: readonly V1Container[],
    field: 'containers' | 'initContainers',
    offset: number,
  ): void => {
    containers.forEach((container, index) => {
      patch.push(envPatch(container, `/spec/${field}/${index + offset}/env`, endpoint));
      pointed.push(container.name);
    });
  };
  // Init containers shift by one: the sidecar was inserted at index 0.
  pointAt(spec.initContainers ?? [], 'initContainers', 1);
  pointAt(spec.containers ?? [], 'containers', 0);

  const keyring = keyringSecretOf(policy);
  const record: InjectionRecord = {
    version: 1,
    policy: policyName,
    sidecar: SIDECAR_NAME,
    image: sidecar.image!,
    configMap: proxyConfigMapName(policy),
    ...(keyring === undefined ? {} : { keySecret: keyring }),
    containers: pointed,
  };
  patch.push({
    op: 'add',
    path: `/metadata/annotations/${jsonPatchEscape(ANNOTATION_INJECTION_STATUS)}`,
    value: JSON.stringify(record),
  });
  // A label, unlike the annotation, can be selected: the PodMonitor finds sidecars by it.
  patch.push(
    pod.metadata?.labels === undefined
      ? { op: 'add', path: '/metadata/labels', value: { [LABEL_INJECTED]: 'true' } }
      : { op: 'add', path: `/metadata/labels/${jsonPatchEscape(LABEL_INJECTED)}`, value: 'true' },
  );
  return { kind: 'inject', patch, record };
}

/**
 * Called again on an injected pod (reinvocationPolicy IfNeeded: another webhook changed it after
 * us): never a second sidecar, but a container added since then is pointed at the proxy too.
 */
function reinvocation(spec: V1PodSpec, sidecar: V1Container): InjectionDecision {
  const port = sidecar.ports?.find((p) => p.name === SIDECAR_PORT_NAME)?.containerPort;
  if (port === undefined) return { kind: 'skip', reason: 'AlreadyInjected', message: 'already injected' };
  const endpoint = endpointEnv(port);
  const patch: JsonPatchOperation[] = [];
  const isPointed = (c: V1Container): boolean => c.env?.some((e) => e.name === endpoint[0]!.name) ?? false;
  (spec.initContainers ?? []).forEach((c, i) => {
    if (c.name !== SIDECAR_NAME && !isPointed(c))
      patch.push(envPatch(c, `/spec/initContainers/${i}/env`, endpoint));
  });
  spec.containers.forEach((c, i) => {
    if (!isPointed(c)) patch.push(envPatch(c, `/spec/containers/${i}/env`, endpoint));
  });
  return patch.length === 0
    ? { kind: 'skip', reason: 'AlreadyInjected', message: 'already injected' }
    : { kind: 'repoint', patch };
}

/**
 * The container's environment with the endpoint variables first (so later variables may
 * refer to them) and any value the app had for them replaced.
 */
function envPatch(container: V1Container, path: string, endpoint: readonly V1EnvVar[]): JsonPatchOperation {
  const names = new Set(endpoint.map((e) => e.name));
  if (container.env === undefined) return { op: 'add', path, value: endpoint };
  return { op: 'replace', path, value: [...endpoint, ...container.env.filter((e) => !names.has(e.name))] };
}
