import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { CoreV1Event, KubeConfig, V1Secret } from '@kubernetes/client-node';
import type { KubeApi } from '@s3seal/testkit';

import { CRD_FILE } from '../../src/api/crd.js';
import { CRD_NAME, GROUP, PLURAL, VERSION } from '../../src/api/names.js';
import { readPolicy } from '../../src/api/policy-client.js';
import type { EncryptionPolicy } from '../../src/api/types.js';
import { kubectlOk } from './kubectl.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

/** Installs the CRD from crds/ with kubectl, as a user would, and waits until it is served. */
export async function installCrd(kube: KubeApi): Promise<void> {
  await kubectlOk(kube.kubeconfigPath, ['apply', '-f', path.join(repoRoot, CRD_FILE)]);
  await kubectlOk(kube.kubeconfigPath, [
    'wait',
    '--for=condition=Established',
    `crd/${CRD_NAME}`,
    '--timeout=60s',
  ]);
}

/** Typed shortcuts over client-node for the objects these tests touch. */
export class Cluster {
  readonly core: CoreV1Api;
  readonly custom: CustomObjectsApi;

  constructor(readonly kubeConfig: KubeConfig) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.custom = kubeConfig.makeApiClient(CustomObjectsApi);
  }

  async createNamespace(prefix: string): Promise<string> {
    const name = `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
    await this.core.createNamespace({ body: { metadata: { name } } });
    return name;
  }

  async createSecret(namespace: string, name: string, stringData: Record<string, string>): Promise<V1Secret> {
    return this.core.createNamespacedSecret({ namespace, body: { metadata: { name }, stringData } });
  }

  async secret(namespace: string, name: string): Promise<V1Secret | undefined> {
    try {
      return await this.core.readNamespacedSecret({ namespace, name });
    } catch (err: unknown) {
      if ((err as { code?: number }).code === 404) return undefined;
      throw err;
    }
  }

  async applyPolicy(
    namespace: string,
    name: string,
    spec: Record<string, unknown>,
  ): Promise<EncryptionPolicy> {
    return (await this.custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: PLURAL,
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'EncryptionPolicy',
        metadata: { name, namespace },
        spec,
      },
    })) as EncryptionPolicy;
  }

  async patchPolicy(namespace: string, name: string, body: Record<string, unknown>): Promise<void> {
    await this.custom.patchNamespacedCustomObject(
      { group: GROUP, version: VERSION, namespace, plural: PLURAL, name, body },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  async deletePolicy(namespace: string, name: string): Promise<void> {
    await this.custom.deleteNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: PLURAL,
      name,
    });
  }

  async policy(namespace: string, name: string): Promise<EncryptionPolicy | undefined> {
    return readPolicy(this.custom, namespace, name);
  }

  async events(namespace: string): Promise<CoreV1Event[]> {
    return (await this.core.listNamespacedEvent({ namespace })).items;
  }
}

/** Polls until `check` returns a value (not undefined/false), or fails with what it last saw. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err: unknown) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ''}`,
      );
    }
    await sleep(200);
  }
}

/** The policy's condition of a type, if any. */
export function condition(policy: EncryptionPolicy | undefined, type: string) {
  return policy?.status?.conditions?.find((c) => c.type === type);
}

export function secretText(secret: V1Secret | undefined, key: string): string | undefined {
  const data = secret?.data?.[key];
  return data === undefined ? undefined : Buffer.from(data, 'base64').toString('utf8');
}
