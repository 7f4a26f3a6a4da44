// External key managers end to end: the operator's real probes against a real Vault (dev server
// with transit) and a real AWS KMS (moto), on a real kube-apiserver; and the injected sidecar,
// run as the kubelet would run it, wrapping data keys with Vault before MinIO stores ciphertext.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AdmissionregistrationV1Api } from '@kubernetes/client-node';
import type { V1MutatingWebhookConfiguration, V1Pod } from '@kubernetes/client-node';
import { PROXY_NODE_FLAGS } from '@s3seal/proxy';
import {
  assertCiphertextAtRest,
  freePort,
  startKubeApi,
  startMinio,
  startMoto,
  startVault,
} from '@s3seal/testkit';
import type { KubeApi, MinioServer, MotoServer, VaultServer } from '@s3seal/testkit';
import { pino } from 'pino';
import { parse } from 'yaml';

import type { EncryptionPolicy } from '../src/api/types.js';
import { startOperator } from '../src/operator.js';
import type { RunningOperator } from '../src/operator.js';
import { Cluster, condition, eventually, installCrd, repoRoot } from './helpers/cluster.js';
import { kubectlOk } from './helpers/kubectl.js';
import { startInjectedSidecar } from './helpers/local-container.js';

const OPERATOR_NS = 's3seal-system';
const PROXY_MAIN = path.join(repoRoot, 'packages/proxy/dist/main.js');
/** Short, so a stopped Vault shows in the status within seconds (the flag's default is 60 s). */
const PROBE_MS = 1_000;

/** The shipped webhook (manifests/webhook.yaml), registered by URL at the local operator. */
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

function annotatedPod(name: string, policy: string): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, annotations: { 's3seal.io/inject': 'true', 's3seal.io/policy': policy } },
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

describe('external key managers: real Vault and KMS probes, and the injected sidecar wrapping with Vault', () => {
  let kube: KubeApi;
  let minio: MinioServer;
  let vault: VaultServer;
  let moto: MotoServer;
  let cluster: Cluster;
  let operator: RunningOperator | undefined;
  let ns: string;
  let backend: S3Client;
  const rootDirs: string[] = [];
  /** A token with the transit policy, in the Secret vault-token. */
  let vaultToken = '';

  /** A policy on MinIO with its own sidecar ports (each may run locally, one after the other). */
  async function createPolicy(name: string, key: Record<string, unknown>): Promise<void> {
    const [port, healthPort] = [await freePort(), await freePort()];
    await cluster.applyPolicy(ns, name, {
      upstream: { endpoint: minio.endpoint, credentialsSecretRef: { name: 's3-credentials' } },
      buckets: { names: ['sealed-*'] },
      key,
      sidecar: { port, healthPort },
    });
  }

  const vaultKey = (keyName: string, tokenSecret: string): Record<string, unknown> => ({
    source: 'VaultTransit',
    vaultTransit: {
      address: vault.address,
      keyName,
      // A key name other than `token`: the sidecar sees it as the file `token` all the same.
      auth: { tokenSecretRef: { name: tokenSecret, key: 'client-token' } },
    },
  });

  /** Waits until the policy's KeyManagerReady condition has this reason, and returns the policy. */
  const keyManager = (name: string, reason: string, timeoutMs = 20_000): Promise<EncryptionPolicy> =>
    eventually(
      `${name} KeyManagerReady ${reason}`,
      async () => {
        const policy = await cluster.policy(ns, name);
        return condition(policy, 'KeyManagerReady')?.reason === reason && policy;
      },
      timeoutMs,
    );

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

  /**
   * Admits an annotated pod, reads it back from the API and starts its sidecar as a local
   * process (args, env from Secrets, mounted ConfigMap and Secret files); resolves once the
   * startup probe passes, with an S3 client configured as the app container is.
   */
  async function runInjectedSidecar(
    podName: string,
    policy: string,
  ): Promise<{ pod: V1Pod; app: S3Client; stop: () => Promise<void> }> {
    await createPod(annotatedPod(podName, policy));
    const stored = await cluster.core.readNamespacedPod({ namespace: ns, name: podName });
    const rootDir = await mkdtemp(path.join(tmpdir(), 's3seal-pod-'));
    rootDirs.push(rootDir);
    const { running, appEndpoint: endpoint } = await startInjectedSidecar({
      cluster,
      pod: stored,
      namespace: ns,
      proxyMain: PROXY_MAIN,
      nodeFlags: PROXY_NODE_FLAGS,
      rootDir,
    });
    const app = new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey },
    });
    return {
      pod: stored,
      app,
      stop: async () => {
        app.destroy();
        await running.stop();
      },
    };
  }

  const sealedMetadata = async (bucket: string, key: string): Promise<Record<string, string>> =>
    (await backend.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).Metadata ?? {};

  const plaintextOf = (label: string): Buffer =>
    Buffer.concat([
      Buffer.from(`${label}: the quick brown fox jumps over the lazy dog\n`.repeat(2000)),
      randomBytes(777),
    ]);

  beforeAll(async () => {
    if (!existsSync(PROXY_MAIN))
      throw new Error(`${PROXY_MAIN} is missing: run \`make build\` (make test does)`);
    [kube, minio, vault, moto] = await Promise.all([startKubeApi(), startMinio(), startVault(), startMoto()]);
    await installCrd(kube);
    cluster = new Cluster(kube.kubeConfig());
    await cluster.core.createNamespace({ body: { metadata: { name: OPERATOR_NS } } });
    ns = await cluster.createNamespace('keys');
    await cluster.createSecret(ns, 's3-credentials', {
      AWS_ACCESS_KEY_ID: minio.accessKeyId,
      AWS_SECRET_ACCESS_KEY: minio.secretAccessKey,
    });
    backend = new S3Client({
      endpoint: minio.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: minio.accessKeyId, secretAccessKey: minio.secretAccessKey },
    });
    await backend.send(new CreateBucketCommand({ Bucket: 'sealed-data' }));
    const port = await freePort();
    await kube
      .kubeConfig()
      .makeApiClient(AdmissionregistrationV1Api)
      .createMutatingWebhookConfiguration({ body: webhookConfiguration(port) });
    // No keyManagerProbe: the operator's own probe, through @s3seal/key-providers.
    operator = await startOperator({
      kubeConfig: kube.kubeConfig(),
      namespace: OPERATOR_NS,
      sidecar: { image: 'ghcr.io/s3seal/proxy:test' },
      webhookListen: { host: '127.0.0.1', port },
      webhookHosts: { dnsNames: ['s3seal-webhook.s3seal-system.svc'], ipAddresses: ['127.0.0.1'] },
      webhookConfigurationName: 's3seal-injector',
      webhookSecretName: 's3seal-webhook-tls',
      certificateResyncMs: 500,
      waitingRequeueMs: 500,
      keyManagerProbeMs: PROBE_MS,
      log: pino({ level: 'silent' }),
    });
  });

  afterAll(async () => {
    await operator?.stop().catch(() => undefined);
    backend?.destroy();
    for (const dir of rootDirs) await rm(dir, { recursive: true, force: true });
    await Promise.all([kube?.stop(), minio?.stop(), vault?.stop(), moto?.stop()]);
  });

  it('probes a real Vault: a usable Transit key, a missing key, a token without policy', async () => {
    await vault.createKey('app');
    vaultToken = await vault.createToken();
    await cluster.createSecret(ns, 'vault-token', { 'client-token': vaultToken });
    // Only Vault's `default` policy: it may look itself up, nothing on transit.
    await cluster.createSecret(ns, 'vault-token-bare', { 'client-token': await vault.createToken([]) });
    await createPolicy('vault-ok', vaultKey('app', 'vault-token'));
    await createPolicy('vault-no-key', vaultKey('no-such-key', 'vault-token'));
    await createPolicy('vault-denied', vaultKey('app', 'vault-token-bare'));

    const ok = await keyManager('vault-ok', 'TransitKeyUsable');
    expect(condition(ok, 'KeyManagerReady')).toMatchObject({
      status: 'True',
      message: expect.stringContaining(`Transit key transit/app v1 at ${vault.address}`),
    });
    expect(condition(ok, 'Ready')?.status).toBe('True');
    expect(ok.status?.keySource).toBe('VaultTransit');
    expect(ok.status?.activeKeyVersion).toBeUndefined();

    const missing = await keyManager('vault-no-key', 'TransitKeyNotFound');
    expect(condition(missing, 'KeyManagerReady')).toMatchObject({
      status: 'False',
      message: expect.stringContaining('no Transit key no-such-key'),
    });
    const denied = await keyManager('vault-denied', 'VaultAccessDenied');
    expect(condition(denied, 'KeyManagerReady')?.status).toBe('False');
    // Health, not configuration: both are still Ready.
    expect(condition(missing, 'Ready')?.status).toBe('True');
    expect(condition(denied, 'Ready')?.status).toBe('True');

    const wide = await kubectlOk(kube.kubeconfigPath, ['get', 'encpol', '-n', ns, '-o', 'wide']);
    expect(wide).toMatch(/KEY-SOURCE\s+KEY-MANAGER/);
    expect(wide).toMatch(/\nvault-ok\s+True\s.*VaultTransit\s+TransitKeyUsable\s+Ready\s/);
    expect(wide).toMatch(/\nvault-no-key\s+True\s.*VaultTransit\s+TransitKeyNotFound\s/);
    expect(wide).toMatch(/\nvault-denied\s+True\s.*VaultTransit\s+VaultAccessDenied\s/);
    const reasons = (await cluster.events(ns)).map((e) => `${e.type}/${e.reason}/${e.involvedObject.name}`);
    expect(reasons).toEqual(
      expect.arrayContaining([
        'Normal/KeyManagerHealthy/vault-ok',
        'Warning/KeyManagerUnhealthy/vault-no-key',
        'Warning/KeyManagerUnhealthy/vault-denied',
      ]),
    );
  });

  it('probes KMS (moto) with the key pair of credentialsSecretRef, and notices a key being disabled', async () => {
    const { keyId, arn } = await moto.createKey('s3seal operator probe');
    await moto.createAlias('alias/s3seal-probe', keyId);
    await cluster.createSecret(ns, 'kms-credentials', {
      AWS_ACCESS_KEY_ID: moto.accessKeyId,
      AWS_SECRET_ACCESS_KEY: moto.secretAccessKey,
    });
    await createPolicy('kms', {
      source: 'AWSKMS',
      awsKms: {
        keyId: 'alias/s3seal-probe',
        region: moto.region,
        endpoint: moto.endpoint,
        credentialsSecretRef: { name: 'kms-credentials' },
      },
    });
    const usable = await keyManager('kms', 'KMSKeyUsable');
    expect(condition(usable, 'KeyManagerReady')).toMatchObject({
      status: 'True',
      message: expect.stringContaining(arn),
    });
    expect(condition(usable, 'Ready')?.status).toBe('True');
    expect(usable.status?.keySource).toBe('AWSKMS');

    const disabled = await moto.kms('DisableKey', { KeyId: keyId });
    expect(disabled.status).toBe(200);
    // Re-probed on its own (no change to the policy).
    const off = await keyManager('kms', 'KMSKeyDisabled');
    expect(condition(off, 'KeyManagerReady')).toMatchObject({
      status: 'False',
      message: expect.stringContaining('Disabled'),
    });
    expect(condition(off, 'Ready')?.status).toBe('True');
  });

  it('runs the injected sidecar with the Vault token file from its Secret: Vault wraps, MinIO holds ciphertext', async () => {
    const sidecar = await runInjectedSidecar('vault-app', 'vault-ok');
    try {
      // The token reached the sidecar as a file of the mounted Secret key, never through the ConfigMap.
      expect(sidecar.pod.spec!.volumes!.find((v) => v.name === 's3seal-vault-token')?.secret).toMatchObject({
        secretName: 'vault-token',
        items: [{ key: 'client-token', path: 'token' }],
      });
      const configMap = await cluster.core.readNamespacedConfigMap({
        namespace: ns,
        name: 'vault-ok-s3seal-proxy',
      });
      expect(configMap.data?.['proxy.yaml']).toContain('vaultTokenFile: /etc/s3seal/vault-token/token');
      expect(configMap.data?.['proxy.yaml']).not.toContain(vaultToken);
      const plaintext = plaintextOf('vault');
      await sidecar.app.send(
        new PutObjectCommand({ Bucket: 'sealed-data', Key: 'vault.bin', Body: plaintext }),
      );
      const back = await sidecar.app.send(new GetObjectCommand({ Bucket: 'sealed-data', Key: 'vault.bin' }));
      expect(Buffer.from(await back.Body!.transformToByteArray()).equals(plaintext)).toBe(true);
      await assertCiphertextAtRest(backend, 'sealed-data', 'vault.bin', plaintext);
      const meta = await sealedMetadata('sealed-data', 'vault.bin');
      expect(meta).toMatchObject({ 's3seal-wrap': 'vault-transit', 's3seal-kek': 'vault:v1' });
      // The stored data key is Vault's aes256-gcm96 ciphertext of it (nonce, 32 bytes, tag), not a
      // keyring's AES key wrap (40 bytes): only Vault opens it.
      expect(Buffer.from(meta['s3seal-dek']!, 'base64url')).toHaveLength(12 + 32 + 16);
    } finally {
      await sidecar.stop();
    }
  });

  it('keeps serving objects of the old keyring after a Managed policy switches to Vault, through a newly injected sidecar', async () => {
    await createPolicy('switch', { managed: {} });
    await eventually(
      'switch Ready',
      async () => condition(await cluster.policy(ns, 'switch'), 'Ready')?.status === 'True',
    );
    const old = plaintextOf('old');
    const before = await runInjectedSidecar('before-switch', 'switch');
    try {
      await before.app.send(new PutObjectCommand({ Bucket: 'sealed-data', Key: 'old.bin', Body: old }));
    } finally {
      await before.stop();
    }
    expect(await sealedMetadata('sealed-data', 'old.bin')).toMatchObject({ 's3seal-wrap': 'kwp' });

    await cluster.patchPolicy(ns, 'switch', { spec: { key: vaultKey('app', 'vault-token') } });
    await eventually('switch on Vault', async () => {
      const p = await cluster.policy(ns, 'switch');
      return (
        p?.status?.keySource === 'VaultTransit' &&
        p.status.observedGeneration === p.metadata.generation &&
        condition(p, 'Ready')?.status === 'True' &&
        condition(p, 'KeyManagerReady')?.reason === 'TransitKeyUsable'
      );
    });
    const after = await runInjectedSidecar('after-switch', 'switch');
    try {
      const back = await after.app.send(new GetObjectCommand({ Bucket: 'sealed-data', Key: 'old.bin' }));
      expect(Buffer.from(await back.Body!.transformToByteArray()).equals(old)).toBe(true);
      const fresh = plaintextOf('new');
      await after.app.send(new PutObjectCommand({ Bucket: 'sealed-data', Key: 'new.bin', Body: fresh }));
      const newBack = await after.app.send(new GetObjectCommand({ Bucket: 'sealed-data', Key: 'new.bin' }));
      expect(Buffer.from(await newBack.Body!.transformToByteArray()).equals(fresh)).toBe(true);
      await assertCiphertextAtRest(backend, 'sealed-data', 'new.bin', fresh);
      expect(await sealedMetadata('sealed-data', 'new.bin')).toMatchObject({
        's3seal-wrap': 'vault-transit',
      });
    } finally {
      await after.stop();
    }
  });

  it('reports VaultUnreachable once Vault is gone, while the policy stays Ready and pods are still admitted', async () => {
    await vault.stop();
    const down = await keyManager('vault-ok', 'VaultUnreachable', 15_000);
    expect(condition(down, 'KeyManagerReady')?.status).toBe('False');
    expect(condition(down, 'Ready')?.status).toBe('True');
    const events = (await cluster.events(ns)).filter(
      (e) => e.involvedObject.name === 'vault-ok' && e.reason === 'KeyManagerUnhealthy',
    );
    expect(events.map((e) => e.message).join('\n')).toContain('VaultUnreachable');

    const admitted = await createPod(annotatedPod('while-vault-down', 'vault-ok'));
    expect(admitted.spec!.initContainers!.map((c) => c.name)).toContain('s3seal-proxy');
    expect(admitted.spec!.volumes!.map((v) => v.name)).toContain('s3seal-vault-token');
  });
});
