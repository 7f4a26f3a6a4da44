import type { KubeConfig, KubernetesObject, V1Secret } from '@kubernetes/client-node';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import type { Logger } from 'pino';

import {
  GROUP,
  LABEL_COMPONENT,
  LABEL_MANAGED_BY,
  LABEL_POLICY,
  MANAGED_BY,
  PLURAL,
  VERSION,
} from '../api/names.js';
import type { EncryptionPolicy } from '../api/types.js';
import type { EventRecorder } from '../kube/event-recorder.js';
import { objectKey } from '../kube/object-key.js';
import { createResilientInformer } from '../kube/resilient-informer.js';
import type { ResilientInformer } from '../kube/resilient-informer.js';
import { WorkQueue } from '../kube/work-queue.js';
import type { OperatorMetrics } from '../metrics.js';
import type { KeyManagerProbe } from './key-manager-probe.js';
import { PolicyReconciler } from './reconciler.js';

export interface PolicyControllerOptions {
  readonly kubeConfig: KubeConfig;
  readonly events: EventRecorder;
  readonly log: Logger;
  /** Every policy is reconciled again this often even without a change (default 5 min). */
  readonly resyncPeriodMs?: number;
  readonly workers?: number;
  readonly now?: () => Date;
  readonly waitingRequeueMs?: number;
  readonly metrics?: OperatorMetrics;
  /** Probes Vault / KMS for policies that use them (default: @s3seal/key-providers). */
  readonly keyManagerProbe?: KeyManagerProbe;
  /** How often those policies are probed again (default 60 s). */
  readonly keyManagerProbeMs?: number;
}

const KEY_SECRET_SELECTOR = `${LABEL_MANAGED_BY}=${MANAGED_BY},${LABEL_COMPONENT}=kek`;

/**
 * Watches EncryptionPolicies and the key Secrets the operator minted, and feeds their keys to a
 * work queue that one reconciler drains. Informer events only say "look at this policy again";
 * what to do is always worked out from the current state (level-based).
 */
export class PolicyController {
  private readonly queue: WorkQueue;
  private readonly policies: ResilientInformer<EncryptionPolicy & KubernetesObject>;
  private readonly secrets: ResilientInformer<V1Secret>;
  private readonly reconciler: PolicyReconciler;
  private readonly workers: number;
  private readonly metrics: OperatorMetrics | undefined;

  constructor(options: PolicyControllerOptions) {
    const { kubeConfig, log } = options;
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const custom = kubeConfig.makeApiClient(CustomObjectsApi);
    this.workers = options.workers ?? 2;
    this.queue = new WorkQueue({ logger: log.child({ component: 'workqueue' }) });
    this.reconciler = new PolicyReconciler({
      core,
      custom,
      events: options.events,
      log,
      ...(options.now ? { now: options.now } : {}),
      ...(options.waitingRequeueMs === undefined ? {} : { waitingRequeueMs: options.waitingRequeueMs }),
      ...(options.metrics ? { metrics: options.metrics } : {}),
      ...(options.keyManagerProbe ? { keyManagerProbe: options.keyManagerProbe } : {}),
      ...(options.keyManagerProbeMs === undefined ? {} : { keyManagerProbeMs: options.keyManagerProbeMs }),
    });
    this.metrics = options.metrics;
    const resyncPeriodMs = options.resyncPeriodMs ?? 5 * 60_000;
    this.policies = createResilientInformer<EncryptionPolicy & KubernetesObject>(
      kubeConfig,
      `/apis/${GROUP}/${VERSION}/${PLURAL}`,
      async () =>
        (await custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL })) as {
          items: (EncryptionPolicy & KubernetesObject)[];
          metadata?: { resourceVersion?: string };
        },
      {
        name: 'encryptionpolicies',
        handler: (_type, policy) => this.queue.add(objectKey(policy)),
        resyncPeriodMs,
        logger: log,
      },
    );
    this.secrets = createResilientInformer<V1Secret>(
      kubeConfig,
      '/api/v1/secrets',
      () => core.listSecretForAllNamespaces({ labelSelector: KEY_SECRET_SELECTOR }),
      {
        name: 'key-secrets',
        labelSelector: KEY_SECRET_SELECTOR,
        // A key Secret changed or vanished under its policy: look at the policy again.
        handler: (_type, secret) => {
          const policy = secret.metadata?.labels?.[LABEL_POLICY];
          if (policy && secret.metadata?.namespace) this.queue.add(`${secret.metadata.namespace}/${policy}`);
        },
        resyncPeriodMs,
        logger: log,
      },
    );
  }

  /** Starts watching and reconciling; resolves once both caches have synced. */
  async start(signal?: AbortSignal): Promise<void> {
    this.policies.start();
    this.secrets.start();
    const metrics = this.metrics;
    this.queue.start(this.workers, (key) =>
      metrics ? metrics.timeReconcile(() => this.reconciler.reconcile(key)) : this.reconciler.reconcile(key),
    );
    await Promise.all([this.policies.waitForSync(signal), this.secrets.waitForSync(signal)]);
  }

  async stop(): Promise<void> {
    await Promise.all([this.policies.stop(), this.secrets.stop()]);
    await this.queue.shutdown();
  }
}
