import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { CoordinationV1Api, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';

import { PolicyController } from './controller/controller.js';
import type { KeyManagerProbe } from './controller/key-manager-probe.js';
import { podAdmissionHandler } from './inject/pod-admission.js';
import type { SidecarDefaults } from './inject/sidecar.js';
import { EventRecorder } from './kube/event-recorder.js';
import { OperatorMetrics } from './metrics.js';
import { LeaderElector } from './kube/leader-election.js';
import type { StoppedLeadingReason } from './kube/leader-election.js';
import { AdmissionServer } from './webhook/admission-server.js';
import type { CertificateHosts } from './webhook/certificates.js';
import { ServingCertificateManager } from './webhook/serving-certificate.js';

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface OperatorOptions {
  readonly kubeConfig: KubeConfig;
  /** The operator's own namespace: its Lease and webhook certificate Secret live there. */
  readonly namespace: string;
  readonly sidecar: SidecarDefaults;
  readonly webhookListen: ListenAddress;
  /** SANs of the webhook's serving certificate (the Service's DNS names; 127.0.0.1 for a URL webhook). */
  readonly webhookHosts: CertificateHosts;
  readonly webhookConfigurationName: string;
  readonly webhookSecretName: string;
  /** /healthz and /readyz; off when undefined. */
  readonly healthListen?: ListenAddress;
  /** Off: this process acts as the only replica (development, tests). */
  readonly leaderElection?: {
    readonly leaseName: string;
    readonly identity?: string;
    readonly leaseDurationSeconds?: number;
    readonly renewDeadlineMs?: number;
    readonly retryPeriodMs?: number;
  };
  readonly resyncPeriodMs?: number;
  readonly certificateResyncMs?: number;
  readonly log: Logger;
  /** Leadership was lost (not released): the process must stop acting at once. main.ts exits. */
  readonly onLostLeadership?: () => void;
  /** For tests. */
  readonly now?: () => Date;
  readonly waitingRequeueMs?: number;
  readonly keyManagerProbe?: KeyManagerProbe;
  /** How often policies with Vault or KMS keys are probed (default 60 s). */
  readonly keyManagerProbeMs?: number;
}

export interface RunningOperator {
  /** https://host:port of the admission webhook (path /mutate-pods). */
  readonly webhookUrl: string;
  readonly healthUrl: string | undefined;
  isLeader(): boolean;
  stop(): Promise<void>;
}

/**
 * The operator process: the admission webhook on every replica (pods are admitted by whichever
 * replica the Service picks), and, on the leader only, the policy controller and the minting of
 * the webhook's certificate. Leadership comes from a Lease, so two replicas never both write.
 */
export async function startOperator(options: OperatorOptions): Promise<RunningOperator> {
  const { kubeConfig, log } = options;
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const events = new EventRecorder(core, { logger: log.child({ component: 'events' }) });
  const metrics = new OperatorMetrics();

  let elector: LeaderElector | undefined;
  let isLeading = options.leaderElection === undefined;
  let controller: PolicyController | undefined;
  let controllerSynced = false;

  const admission = new AdmissionServer({
    handler: podAdmissionHandler({
      custom,
      events,
      log: log.child({ component: 'webhook' }),
      sidecar: options.sidecar,
      metrics,
    }),
    log: log.child({ component: 'webhook' }),
  });
  const certificates = new ServingCertificateManager({
    kubeConfig,
    namespace: options.namespace,
    hosts: options.webhookHosts,
    isLeader: () => isLeading,
    onCertificate: (pair) => admission.setCertificate(pair),
    log: log.child({ component: 'certificates' }),
    secretName: options.webhookSecretName,
    webhookConfigurationName: options.webhookConfigurationName,
    ...(options.certificateResyncMs === undefined ? {} : { resyncIntervalMs: options.certificateResyncMs }),
    // The same clock as the controller's, so a test that moves time moves certificate ages too.
    ...(options.now ? { now: options.now } : {}),
  });

  metrics.watchCertificateExpiry(() => certificates.expiry);
  const startLeading = async (signal: AbortSignal): Promise<void> => {
    isLeading = true;
    metrics.isLeader.set(1);
    log.info('leading: reconciling EncryptionPolicies and the webhook certificate');
    await certificates
      .sync()
      .catch((err: unknown) => log.error({ err }, 'webhook certificate sync failed; retrying'));
    controller = new PolicyController({
      kubeConfig,
      events,
      log: log.child({ component: 'controller' }),
      ...(options.resyncPeriodMs === undefined ? {} : { resyncPeriodMs: options.resyncPeriodMs }),
      ...(options.now ? { now: options.now } : {}),
      ...(options.waitingRequeueMs === undefined ? {} : { waitingRequeueMs: options.waitingRequeueMs }),
      ...(options.keyManagerProbe ? { keyManagerProbe: options.keyManagerProbe } : {}),
      ...(options.keyManagerProbeMs === undefined ? {} : { keyManagerProbeMs: options.keyManagerProbeMs }),
      metrics,
    });
    await controller.start(signal);
    controllerSynced = true;
  };
  const stopLeading = async (): Promise<void> => {
    isLeading = false;
    metrics.isLeader.set(0);
    controllerSynced = false;
    const running = controller;
    controller = undefined;
    await running?.stop();
  };

  const webhookAddress = await admission.listen(options.webhookListen.port, options.webhookListen.host);
  const health = options.healthListen
    ? createOperatorHealthServer(metrics, () => ({
        webhookCertificate: certificates.certificate !== undefined,
        // A follower is ready to serve the webhook; the leader also needs its caches.
        controller: !isLeading || controllerSynced,
      }))
    : undefined;
  let healthUrl: string | undefined;
  if (health && options.healthListen) {
    await new Promise<void>((resolve) =>
      health.listen(options.healthListen!.port, options.healthListen!.host, resolve),
    );
    healthUrl = `http://${options.healthListen.host}:${(health.address() as AddressInfo).port}`;
  }
  // The first read of the certificate Secret; a follower may find none until the leader wrote it.
  await certificates.start().catch((err: unknown) => log.warn({ err }, 'no webhook certificate yet'));

  if (options.leaderElection) {
    const election = options.leaderElection;
    elector = new LeaderElector(kubeConfig.makeApiClient(CoordinationV1Api), {
      namespace: options.namespace,
      leaseName: election.leaseName,
      ...(election.identity === undefined ? {} : { identity: election.identity }),
      ...(election.leaseDurationSeconds === undefined
        ? {}
        : { leaseDurationSeconds: election.leaseDurationSeconds }),
      ...(election.renewDeadlineMs === undefined ? {} : { renewDeadlineMs: election.renewDeadlineMs }),
      ...(election.retryPeriodMs === undefined ? {} : { retryPeriodMs: election.retryPeriodMs }),
      logger: log.child({ component: 'leader-election' }),
      callbacks: {
        onStartedLeading: (signal) => startLeading(signal),
        onStoppedLeading: (reason: StoppedLeadingReason) => {
          log.warn({ reason }, 'no longer leading');
          void stopLeading();
          if (reason === 'lost') options.onLostLeadership?.();
        },
        onNewLeader: (identity) => log.info({ leader: identity }, 'leader observed'),
      },
    });
    void elector.run();
  } else {
    await startLeading(new AbortController().signal);
  }

  return {
    webhookUrl: `https://${webhookAddress.address}:${webhookAddress.port}`,
    healthUrl,
    isLeader: () => isLeading,
    stop: async () => {
      if (elector) {
        // Stop the controllers before the Lease is handed over, so a successor never overlaps.
        await stopLeading();
        await elector.release();
      } else await stopLeading();
      await certificates.stop();
      await admission.close();
      await new Promise<void>((resolve) => (health ? health.close(() => resolve()) : resolve()));
    },
  };
}

/** /healthz (alive), /readyz (per-check JSON) and /metrics (Prometheus) on one listener. */
function createOperatorHealthServer(metrics: OperatorMetrics, checks: () => Record<string, boolean>): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    if (path === '/readyz') {
      const results = checks();
      const isReady = Object.values(results).every(Boolean);
      res
        .writeHead(isReady ? 200 : 503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: isReady ? 'ready' : 'not ready', checks: results }));
      return;
    }
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
      return;
    }
    res.writeHead(404).end();
  });
}
