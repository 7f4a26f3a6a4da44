import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AdmissionregistrationV1Api, CoordinationV1Api } from '@kubernetes/client-node';
import type { V1MutatingWebhookConfiguration, V1Pod } from '@kubernetes/client-node';
import { PROXY_NODE_FLAGS } from '@s3seal/proxy';
import { assertCiphertextAtRest, freePort, startKubeApi, startMinio } from '@s3seal/testkit';
import type { KubeApi, MinioServer } from '@s3seal/testkit';
import { pino } from 'pino';
import { parse } from 'yaml';

import { startOperator } from '../src/operator.js';
import type { RunningOperator } from '../src/operator.js';
import { Cluster, condition, eventually, installCrd, repoRoot } from './helpers/cluster.js';
import { kubectlOk } from './helpers/kubectl.js';
import { startInjectedSidecar } from './helpers/local-container.js';

const OPERATOR_NS = 's3seal-system';
const PROXY_MAIN = path.join(repoRoot, 'packages/proxy/dist/main.js');
const annotated = (policy: string): Record<string, string> => ({
  's3seal.io/inject': 'true',
  's3seal.io/policy': policy,
});

function pod(name: string, annotations: Record<string, string> = {}): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, annotations },
    spec: {
      containers: [
        {
          name: 'app',
          image: 'amazon/aws-cli:2',
          env: [
            {
              name: 'AWS_ACCESS_KEY_ID',
              valueFrom: { secretKeyRef: { name: 's3-credentials', key: 'AWS_ACCESS_KEY_ID' } },
            },
          ],
        },
      ],
    },
  };
}

/** The shipped webhook (manifests/webhook.yaml), registered by URL at a local operator instead of the Service. */
function webhookConfiguration(port: number): V1MutatingWebhookConfiguration {
  const shipped = parse(
    readFileSync(path.join(repoRoot, 'manifests/webhook.yaml'), 'utf8'),
  ) as V1MutatingWebhookConfiguration;
  return {
    ...shipped,
    webhooks: shipped.webhooks!.map((w) => ({
      ...w,
      clientConfig: { url: `https://127.0.0.1:${port}${w.clientConfig.service?.path ?? '/mutate-pods'}` },
    })),
  };
}

describe('the operator: leader election, webhook injection, and the injected sidecar end to end', () => {
  let kube: KubeApi;
  let minio: MinioServer;
  let cluster: Cluster;
  let ns: string;
  const operators: RunningOperator[] = [];
  const rootDirs: string[] = [];

  async function startReplica(identity: string, port: number): Promise<RunningOperator> {
    const operator = await startOperator({
      kubeConfig: kube.kubeConfig(),
      namespace: OPERATOR_NS,
      sidecar: { image: 'ghcr.io/s3seal/proxy:test' },
      webhookListen: { host: '127.0.0.1', port },
      webhookHosts: { dnsNames: ['s3seal-webhook.s3seal-system.svc'], ipAddresses: ['127.0.0.1'] },
      webhookConfigurationName: 's3seal-injector',
      webhookSecretName: 's3seal-webhook-tls',
      leaderElection: {
        leaseName: 's3seal-operator',
        identity,
        leaseDurationSeconds: 3,
        renewDeadlineMs: 2_000,
        retryPeriodMs: 300,
      },
      healthListen: { host: '127.0.0.1', port: 0 },
      certificateResyncMs: 500,
      waitingRequeueMs: 500,
      log: pino({ level: 'silent' }),
    });
    operators.push(operator);
    return operator;
  }

  const leaders = (): RunningOperator[] => operators.filter((o) => o.isLeader());

  /** Creates a pod, retrying while the webhook is not reachable yet (Fail policy refuses pods then). */
  async function createPod(body: V1Pod): Promise<V1Pod> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        return await cluster.core.createNamespacedPod({ namespace: ns, body });
      } catch (err: unknown) {
        const text = String((err as { body?: unknown }).body ?? err);
        const isUnreachable = /failed calling webhook|connection refused|x509|certificate/.test(text);
        if (!isUnreachable || Date.now() > deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  async function createPodError(body: V1Pod): Promise<string> {
    try {
      await createPod(body);
    } catch (err: unknown) {
      return String((err as { body?: unknown }).body ?? err);
    }
    throw new Error('the pod was admitted');
  }

  beforeAll(async () => {
    if (!existsSync(PROXY_MAIN))
      throw new Error(`${PROXY_MAIN} is missing: run \`make build\` (make test does)`);
    [kube, minio] = await Promise.all([startKubeApi(), startMinio()]);
    await installCrd(kube);
    cluster = new Cluster(kube.kubeConfig());
    await cluster.core.createNamespace({ body: { metadata: { name: OPERATOR_NS } } });
    ns = await cluster.createNamespace('apps');
    await cluster.createSecret(ns, 's3-credentials', {
      AWS_ACCESS_KEY_ID: minio.accessKeyId,
      AWS_SECRET_ACCESS_KEY: minio.secretAccessKey,
    });
    const [portA, portB] = [await freePort(), await freePort()];
    await kube
      .kubeConfig()
      .makeApiClient(AdmissionregistrationV1Api)
      .createMutatingWebhookConfiguration({ body: webhookConfiguration(portA) });
    await startReplica('replica-a', portA);
    await startReplica('replica-b', portB);
  });

  afterAll(async () => {
    for (const operator of operators) await operator.stop().catch(() => undefined);
    for (const dir of rootDirs) await rm(dir, { recursive: true, force: true });
    await Promise.all([kube?.stop(), minio?.stop()]);
  });

  it('elects exactly one leader among two replicas, recorded in the Lease', async () => {
    await eventually('a leader', () => Promise.resolve(leaders().length === 1));
    const lease = await kube
      .kubeConfig()
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ namespace: OPERATOR_NS, name: 's3seal-operator' });
    expect(['replica-a', 'replica-b']).toContain(lease.spec?.holderIdentity);
    expect(leaders()).toHaveLength(1);
  });

  it('reconciles a policy once (only the leader acts) and injects exactly one sidecar per pod', async () => {
    const [port, healthPort] = [await freePort(), await freePort()];
    await cluster.applyPolicy(ns, 'objects', {
      upstream: { endpoint: minio.endpoint, credentialsSecretRef: { name: 's3-credentials' } },
      sidecar: { port, healthPort },
    });
    await eventually(
      'policy Ready',
      async () => condition(await cluster.policy(ns, 'objects'), 'Ready')?.status === 'True',
    );
    const created = (await cluster.events(ns)).filter((e) => e.reason === 'KeyCreated');
    expect(created).toHaveLength(1);

    const stored = await createPod(pod('app-1', annotated('objects')));
    const sidecars = stored.spec!.initContainers!.filter((c) => c.name === 's3seal-proxy');
    expect(sidecars).toHaveLength(1);
    expect(sidecars[0]).toMatchObject({ restartPolicy: 'Always', image: 'ghcr.io/s3seal/proxy:test' });
    expect(stored.spec!.containers[0]!.env).toEqual([
      { name: 'AWS_ENDPOINT_URL', value: `http://127.0.0.1:${port}` },
      { name: 'AWS_ENDPOINT_URL_S3', value: `http://127.0.0.1:${port}` },
      {
        name: 'AWS_ACCESS_KEY_ID',
        valueFrom: { secretKeyRef: { name: 's3-credentials', key: 'AWS_ACCESS_KEY_ID' } },
      },
    ]);
    expect(JSON.parse(stored.metadata!.annotations!['s3seal.io/status']!)).toMatchObject({
      policy: 'objects',
      keySecret: 'objects-kek',
    });

    // The stored (already injected) pod admitted again, as on a reinvocation: still one sidecar.
    const again: V1Pod = {
      ...stored,
      metadata: { name: 'app-2', annotations: stored.metadata!.annotations! },
    };
    delete again.status;
    const dryRun = JSON.parse(
      await kubectlOk(
        kube.kubeconfigPath,
        ['create', '-n', ns, '--dry-run=server', '-o', 'json', '-f', '-'],
        JSON.stringify(again),
      ),
    ) as V1Pod;
    expect(dryRun.spec!.initContainers!.filter((c) => c.name === 's3seal-proxy')).toHaveLength(1);
    expect(dryRun.spec!.containers[0]!.env!.filter((e) => e.name === 'AWS_ENDPOINT_URL')).toHaveLength(1);
  });

  it('leaves unannotated pods untouched and denies pods whose policy is missing or not Ready, saying what to fix', async () => {
    const plain = await createPod(pod('plain'));
    expect(plain.spec!.initContainers).toBeUndefined();
    expect(plain.metadata!.annotations?.['s3seal.io/status']).toBeUndefined();

    const missing = await createPodError(pod('lost', annotated('no-such-policy')));
    expect(missing).toContain(`EncryptionPolicy ${ns}/no-such-policy`);
    expect(missing).toContain('does not exist');

    await cluster.applyPolicy(ns, 'no-creds', {
      upstream: { endpoint: minio.endpoint, credentialsSecretRef: { name: 'absent' } },
    });
    await eventually(
      'no-creds reconciled',
      async () => condition(await cluster.policy(ns, 'no-creds'), 'Ready')?.status === 'False',
    );
    const notReady = await createPodError(pod('early', annotated('no-creds')));
    expect(notReady).toContain('is not Ready (CredentialsSecretNotFound');
  });

  it('runs the injected sidecar exactly as the pod would and round-trips an object to MinIO as ciphertext', async () => {
    const stored = await cluster.core.readNamespacedPod({ namespace: ns, name: 'app-1' });
    const rootDir = await mkdtemp(path.join(tmpdir(), 's3seal-pod-'));
    rootDirs.push(rootDir);
    // Dockerfile.proxy's ENTRYPOINT, with this machine's node.
    const {
      running,
      ready,
      appEndpoint: endpoint,
    } = await startInjectedSidecar({
      cluster,
      pod: stored,
      namespace: ns,
      proxyMain: PROXY_MAIN,
      nodeFlags: PROXY_NODE_FLAGS,
      rootDir,
    });
    try {
      expect(ready).toMatchObject({ status: 'ready' });

      // The app's view: the endpoint the webhook set, the credentials from the same Secret.
      const credentials = { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey };
      const app = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials });
      const backend = new S3Client({
        endpoint: minio.endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials,
      });
      await backend.send(new CreateBucketCommand({ Bucket: 'pod-data' }));
      const plaintext = Buffer.concat([
        Buffer.from('row 1: the quick brown fox jumps over the lazy dog\n'.repeat(3000)),
        randomBytes(1000),
      ]);
      await app.send(new PutObjectCommand({ Bucket: 'pod-data', Key: 'dump.sql', Body: plaintext }));
      const back = await app.send(new GetObjectCommand({ Bucket: 'pod-data', Key: 'dump.sql' }));
      expect(Buffer.from(await back.Body!.transformToByteArray()).equals(plaintext)).toBe(true);
      await assertCiphertextAtRest(backend, 'pod-data', 'dump.sql', plaintext);
      app.destroy();
      backend.destroy();
    } finally {
      await running.stop();
    }
  });

  it('exports metrics: reconciles, admissions by result, leadership and certificate expiry', async () => {
    const scrape = async (operator: RunningOperator): Promise<string> => {
      const res = await fetch(`${operator.healthUrl}/metrics`);
      expect(res.status).toBe(200);
      return res.text();
    };
    const value = (text: string, series: string): number => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      if (line === undefined) throw new Error(`no ${series} in\n${text}`);
      return Number(line.slice(series.length + 1));
    };
    const [leader] = leaders();
    const follower = operators.find((o) => o !== leader)!;
    const fromLeader = await scrape(leader!);
    expect(value(fromLeader, 's3seal_operator_leader')).toBe(1);
    expect(value(fromLeader, 's3seal_operator_reconcile_total{result="success"}')).toBeGreaterThan(0);
    expect(fromLeader).toContain('s3seal_operator_reconcile_duration_seconds_bucket');
    expect(value(await scrape(follower), 's3seal_operator_leader')).toBe(0);
    expect(value(fromLeader, `s3seal_operator_policy_ready{namespace="${ns}",policy="objects"}`)).toBe(1);
    expect(value(fromLeader, `s3seal_operator_policy_ready{namespace="${ns}",policy="no-creds"}`)).toBe(0);
    expect(
      value(fromLeader, `s3seal_operator_policy_active_key_version{namespace="${ns}",policy="objects"}`),
    ).toBe(1);
    const due = value(
      fromLeader,
      `s3seal_operator_policy_next_rotation_timestamp_seconds{namespace="${ns}",policy="objects"}`,
    );
    expect(due * 1000).toBeGreaterThan(Date.now() + 80 * 24 * 3_600_000);
    // The webhook configuration points at the first replica: it admitted the pods above.
    const admitting = await scrape(operators[0]!);
    expect(
      value(admitting, 's3seal_operator_webhook_admissions_total{result="injected",reason="Injected"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(
      value(admitting, 's3seal_operator_webhook_admissions_total{result="denied",reason="PolicyNotFound"}'),
    ).toBe(1);
    expect(
      value(admitting, 's3seal_operator_webhook_admissions_total{result="denied",reason="PolicyNotReady"}'),
    ).toBe(1);
    const expiry = value(admitting, 's3seal_operator_webhook_certificate_expiry_timestamp_seconds');
    expect(expiry * 1000).toBeGreaterThan(Date.now() + 30 * 24 * 3_600_000);
    const ready = await fetch(`${follower.healthUrl}/readyz`);
    expect(ready.status).toBe(200);
  });

  it('hands over to the other replica when the leader stops, and the new leader reconciles', async () => {
    const [leader] = leaders();
    await leader!.stop();
    operators.splice(operators.indexOf(leader!), 1);
    await eventually('the other replica leads', () => Promise.resolve(leaders().length === 1), 20_000);
    await cluster.applyPolicy(ns, 'after-handover', {
      upstream: { endpoint: minio.endpoint, credentialsSecretRef: { name: 's3-credentials' } },
    });
    await eventually(
      'after-handover Ready',
      async () => condition(await cluster.policy(ns, 'after-handover'), 'Ready')?.status === 'True',
    );
  });
});
