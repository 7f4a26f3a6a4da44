import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { CoreV1Api } from '@kubernetes/client-node';
import { type KubeApi, startKubeApi } from '@s3seal/testkit';
import { pino } from 'pino';

import { PolicyController } from '../src/controller/controller.js';
import type { KeyManagerProbe, KeyManagerTarget, ProbeResult } from '../src/controller/key-manager-probe.js';
import { EventRecorder } from '../src/kube/event-recorder.js';
import { OperatorMetrics } from '../src/metrics.js';
import { kubectlOk } from './helpers/kubectl.js';
import { Cluster, condition, eventually, installCrd, secretText } from './helpers/cluster.js';

const DAY_MS = 24 * 3_600_000;
const upstream = { endpoint: 'https://s3.example.com', credentialsSecretRef: { name: 'creds' } };
const creds = { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG' };

describe('the EncryptionPolicy controller on a real kube-apiserver', () => {
  let kube: KubeApi;
  let cluster: Cluster;
  let controller: PolicyController | undefined;
  let clockOffsetMs = 0;
  let metrics = new OperatorMetrics();
  const now = (): Date => new Date(Date.now() + clockOffsetMs);

  async function startController(
    extra: { keyManagerProbe?: KeyManagerProbe; keyManagerProbeMs?: number } = {},
  ): Promise<PolicyController> {
    metrics = new OperatorMetrics();
    const kubeConfig = kube.kubeConfig();
    const events = new EventRecorder(kubeConfig.makeApiClient(CoreV1Api), { dedupWindowMs: 0 });
    const started = new PolicyController({
      kubeConfig,
      events,
      log: pino({ level: 'silent' }),
      now,
      waitingRequeueMs: 500,
      resyncPeriodMs: 60_000,
      metrics,
      ...extra,
    });
    await started.start();
    return started;
  }

  const ready = (ns: string, name: string) =>
    eventually(`${ns}/${name} Ready`, async () => {
      const policy = await cluster.policy(ns, name);
      return condition(policy, 'Ready')?.status === 'True' && policy;
    });

  beforeAll(async () => {
    kube = await startKubeApi();
    await installCrd(kube);
    cluster = new Cluster(kube.kubeConfig());
  });

  afterEach(async () => {
    await controller?.stop();
    controller = undefined;
    clockOffsetMs = 0;
  });

  afterAll(async () => {
    await kube?.stop();
  });

  it('mints the key Secret, renders the proxy config, reaches Ready, and kubectl shows it', async () => {
    const ns = await cluster.createNamespace('mint');
    await cluster.createSecret(ns, 'creds', creds);
    controller = await startController();
    await cluster.applyPolicy(ns, 'backups', { upstream, buckets: { names: ['pg-*'] } });
    const policy = await ready(ns, 'backups');

    expect(policy.status).toMatchObject({
      observedGeneration: 1,
      activeKeyVersion: 'v1',
      keyVersions: 1,
      keySecretName: 'backups-kek',
      keyringId: 'backups',
      configMapName: 'backups-s3seal-proxy',
    });
    expect(condition(policy, 'KeyReady')).toMatchObject({ status: 'True', reason: 'KeyAvailable' });
    const secret = await cluster.secret(ns, 'backups-kek');
    expect(secret?.type).toBe('s3seal.io/keyring');
    expect(secret?.metadata?.ownerReferences).toBeUndefined();
    expect(secretText(secret, 'active')).toBe('v1');
    expect(Buffer.from(secretText(secret, 'v1')!, 'base64')).toHaveLength(32);
    const configMap = await cluster.core.readNamespacedConfigMap({
      namespace: ns,
      name: 'backups-s3seal-proxy',
    });
    expect(configMap.data?.['proxy.yaml']).toContain('- pg-*');
    expect(configMap.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: 'EncryptionPolicy',
      name: 'backups',
    });

    const table = await kubectlOk(kube.kubeconfigPath, ['get', 'encryptionpolicies', '-n', ns]);
    expect(table).toMatch(
      /^NAME\s+READY\s+KEY\s+BUCKETS\s+MULTIPART\s+AGE\nbackups\s+True\s+v1\s+\["pg-\*"\]\s+refuse\s+\S+\n$/,
    );
    const events = await cluster.events(ns);
    expect(events.map((e) => e.reason)).toContain('KeyCreated');
  });

  it('is not Ready while a Secret it needs is missing, and says which; then recovers on its own', async () => {
    const ns = await cluster.createNamespace('wait');
    controller = await startController();
    await cluster.applyPolicy(ns, 'p', { upstream });
    const waiting = await eventually('CredentialsSecretNotFound', async () => {
      const policy = await cluster.policy(ns, 'p');
      return condition(policy, 'Ready')?.reason === 'CredentialsSecretNotFound' && policy;
    });
    expect(condition(waiting, 'Ready')).toMatchObject({
      status: 'False',
      message: expect.stringContaining(`Secret ${ns}/creds`),
    });
    // The key does not wait for the credentials.
    expect(condition(waiting, 'KeyReady')?.status).toBe('True');
    await cluster.createSecret(ns, 'creds', creds);
    await ready(ns, 'p');
  });

  it('rotates on request and on schedule, keeping every old version, and prunes only when told', async () => {
    const ns = await cluster.createNamespace('rotate');
    await cluster.createSecret(ns, 'creds', creds);
    controller = await startController();
    await cluster.applyPolicy(ns, 'p', { upstream, key: { managed: { rotationPeriod: '720h' } } });
    await ready(ns, 'p');
    const v1 = secretText(await cluster.secret(ns, 'p-kek'), 'v1');

    await cluster.patchPolicy(ns, 'p', { metadata: { annotations: { 's3seal.io/rotate-key': 'now-1' } } });
    await eventually(
      'v2 active',
      async () => (await cluster.policy(ns, 'p'))?.status?.activeKeyVersion === 'v2',
    );
    let secret = await cluster.secret(ns, 'p-kek');
    expect(secretText(secret, 'v1')).toBe(v1);
    expect(secretText(secret, 'active')).toBe('v2');
    expect(secret?.metadata?.annotations?.['s3seal.io/rotate-key-handled']).toBe('now-1');

    // 31 days later the period has elapsed: the next look rotates.
    clockOffsetMs = 31 * DAY_MS;
    await cluster.patchPolicy(ns, 'p', { metadata: { labels: { nudge: '1' } } });
    await eventually(
      'v3 active',
      async () => (await cluster.policy(ns, 'p'))?.status?.activeKeyVersion === 'v3',
    );
    secret = await cluster.secret(ns, 'p-kek');
    expect(Object.keys(secret!.data!).sort()).toEqual(['active', 'v1', 'v2', 'v3']);
    expect(secretText(secret, 'v1')).toBe(v1);

    await cluster.patchPolicy(ns, 'p', { spec: { key: { managed: { retainVersions: 2 } } } });
    await eventually('v1 pruned', async () => (await cluster.policy(ns, 'p'))?.status?.keyVersions === 2);
    expect(Object.keys((await cluster.secret(ns, 'p-kek'))!.data!).sort()).toEqual(['active', 'v2', 'v3']);
    expect((await metrics.keyRotations.get()).values[0]?.value).toBe(2);
    const reasons = (await cluster.events(ns)).map((e) => `${e.type}/${e.reason}`);
    expect(reasons).toEqual(expect.arrayContaining(['Normal/KeyRotated', 'Warning/KeyVersionsPruned']));
  });

  it('keeps the key material when the policy is deleted, and a re-created policy adopts it', async () => {
    const ns = await cluster.createNamespace('delete');
    await cluster.createSecret(ns, 'creds', creds);
    controller = await startController();
    await cluster.applyPolicy(ns, 'p', { upstream });
    await ready(ns, 'p');
    const before = await cluster.secret(ns, 'p-kek');

    await cluster.deletePolicy(ns, 'p');
    const orphaned = await eventually('orphan mark', async () => {
      const secret = await cluster.secret(ns, 'p-kek');
      return secret?.metadata?.annotations?.['s3seal.io/orphaned'] !== undefined && secret;
    });
    expect(orphaned.data).toEqual(before?.data);
    const warning = (await cluster.events(ns)).find((e) => e.reason === 'KeyOrphaned');
    expect(warning).toMatchObject({ type: 'Warning', involvedObject: { kind: 'Secret', name: 'p-kek' } });

    await cluster.applyPolicy(ns, 'p', { upstream });
    const again = await ready(ns, 'p');
    expect(again.status?.activeKeyVersion).toBe('v1');
    const adopted = await cluster.secret(ns, 'p-kek');
    expect(adopted?.data).toEqual(before?.data);
    expect(adopted?.metadata?.annotations?.['s3seal.io/orphaned']).toBeUndefined();
  });

  it('never overwrites a Secret it did not mint, and never re-mints keys someone deleted', async () => {
    const ns = await cluster.createNamespace('conflict');
    await cluster.createSecret(ns, 'creds', creds);
    await cluster.createSecret(ns, 'taken-kek', { note: 'not yours' });
    controller = await startController();
    await cluster.applyPolicy(ns, 'taken', { upstream });
    const conflicted = await eventually('KeySecretConflict', async () => {
      const policy = await cluster.policy(ns, 'taken');
      return condition(policy, 'KeyReady')?.reason === 'KeySecretConflict' && policy;
    });
    expect(condition(conflicted, 'Ready')?.status).toBe('False');
    expect(secretText(await cluster.secret(ns, 'taken-kek'), 'note')).toBe('not yours');

    await cluster.applyPolicy(ns, 'lost', { upstream });
    await ready(ns, 'lost');
    await cluster.core.deleteNamespacedSecret({ namespace: ns, name: 'lost-kek' });
    await eventually(
      'KeySecretLost',
      async () => condition(await cluster.policy(ns, 'lost'), 'KeyReady')?.reason === 'KeySecretLost',
    );
    expect(await cluster.secret(ns, 'lost-kek')).toBeUndefined();
  });

  it('reads a keyring Secret the user manages, and reports one the proxy could not use', async () => {
    const ns = await cluster.createNamespace('byok');
    await cluster.createSecret(ns, 'creds', creds);
    const key = (): string => Buffer.alloc(32, Math.floor(Math.random() * 256)).toString('base64');
    await cluster.createSecret(ns, 'my-keys', { v1: key(), v7: key(), active: 'v7' });
    await cluster.createSecret(ns, 'bad-keys', { v1: 'short', active: 'v1' });
    controller = await startController();
    await cluster.applyPolicy(ns, 'mine', { upstream, key: { existingSecret: { name: 'my-keys' } } });
    await cluster.applyPolicy(ns, 'bad', { upstream, key: { existingSecret: { name: 'bad-keys' } } });
    const mine = await ready(ns, 'mine');
    expect(mine.status).toMatchObject({ activeKeyVersion: 'v7', keyVersions: 2, keySecretName: 'my-keys' });
    const bad = await eventually('KeyringInvalid', async () => {
      const policy = await cluster.policy(ns, 'bad');
      return condition(policy, 'KeyReady')?.reason === 'KeyringInvalid' && policy;
    });
    expect(condition(bad, 'KeyReady')?.message).toContain('v1 does not hold');
  });

  it('does no duplicate work after a restart', async () => {
    const ns = await cluster.createNamespace('restart');
    await cluster.createSecret(ns, 'creds', creds);
    controller = await startController();
    await cluster.applyPolicy(ns, 'p', { upstream });
    await ready(ns, 'p');
    // Let the first controller settle (its own status write comes back as an update).
    await new Promise((r) => setTimeout(r, 1_000));
    const secretVersion = (await cluster.secret(ns, 'p-kek'))?.metadata?.resourceVersion;
    const policyVersion = (await cluster.policy(ns, 'p'))?.metadata.resourceVersion;
    const eventCount = (await cluster.events(ns)).length;
    await controller.stop();

    controller = await startController();
    await new Promise((r) => setTimeout(r, 2_000));
    expect((await cluster.secret(ns, 'p-kek'))?.metadata?.resourceVersion).toBe(secretVersion);
    expect((await cluster.policy(ns, 'p'))?.metadata.resourceVersion).toBe(policyVersion);
    expect((await cluster.events(ns)).length).toBe(eventCount);
  });

  /** A key manager that answers what the test says, and remembers what it was asked. */
  function fakeProbe(answer: (target: KeyManagerTarget) => ProbeResult) {
    const calls: KeyManagerTarget[] = [];
    const probe: KeyManagerProbe = {
      probe: (target) => {
        calls.push(target);
        return Promise.resolve(answer(target));
      },
    };
    return { probe, calls };
  }
  const vaultTransit = {
    address: 'https://vault.example:8200',
    keyName: 'app',
    auth: { tokenSecretRef: { name: 'vault-token', key: 'token' } },
  };
  const VAULT_TOKEN = 'hvs.not-for-configmaps';

  it('makes a Vault Transit policy Ready without a keyring, and reports the probed health apart from Ready', async () => {
    const ns = await cluster.createNamespace('vault');
    await cluster.createSecret(ns, 'creds', creds);
    let vaultAnswer: ProbeResult = { ok: true, reason: 'VaultReachable', message: 'key app usable' };
    const fake = fakeProbe(() => vaultAnswer);
    controller = await startController({ keyManagerProbe: fake.probe, keyManagerProbeMs: 1_000 });
    await cluster.applyPolicy(ns, 'v', { upstream, key: { source: 'VaultTransit', vaultTransit } });
    // The token Secret is missing: not Ready, saying which; the probe is skipped, not failed.
    const waiting = await eventually('VaultTokenSecretNotFound', async () => {
      const policy = await cluster.policy(ns, 'v');
      return condition(policy, 'Ready')?.reason === 'VaultTokenSecretNotFound' && policy;
    });
    expect(condition(waiting, 'KeyManagerReady')).toMatchObject({
      status: 'Unknown',
      reason: 'ProbeSkipped',
    });
    await cluster.createSecret(ns, 'vault-token', { token: VAULT_TOKEN });

    const policy = await eventually('Ready and KeyManagerReady', async () => {
      const p = await cluster.policy(ns, 'v');
      return (
        condition(p, 'Ready')?.status === 'True' && condition(p, 'KeyManagerReady')?.status === 'True' && p
      );
    });
    expect(policy.status).toMatchObject({ keySource: 'VaultTransit', configMapName: 'v-s3seal-proxy' });
    expect(policy.status?.activeKeyVersion).toBeUndefined();
    expect(condition(policy, 'KeyManagerReady')).toMatchObject({ reason: 'VaultReachable' });
    expect(condition(policy, 'KeyReady')?.message).toContain('Vault Transit key transit/app');
    expect(await cluster.secret(ns, 'v-kek')).toBeUndefined();
    expect(fake.calls.at(-1)).toEqual({
      kind: 'vault-transit',
      options: {
        id: 'vault',
        address: 'https://vault.example:8200',
        mount: 'transit',
        key: 'app',
        auth: { method: 'token', token: VAULT_TOKEN },
      },
    });
    const configMap = await cluster.core.readNamespacedConfigMap({ namespace: ns, name: 'v-s3seal-proxy' });
    const text = configMap.data?.['proxy.yaml'] ?? '';
    expect(text).toContain('keySource: vault-transit');
    expect(text).toContain('vaultTokenFile: /etc/s3seal/vault-token/token');
    expect(text).not.toContain('kekDir');
    expect(text).not.toContain(VAULT_TOKEN);
    expect(text).not.toContain(creds.AWS_SECRET_ACCESS_KEY);

    // Vault seals: re-probed on its own, the health turns False, Ready (configuration) stays True.
    vaultAnswer = { ok: false, reason: 'VaultSealed', message: 'Vault is sealed' };
    const sealed = await eventually('VaultSealed', async () => {
      const p = await cluster.policy(ns, 'v');
      return condition(p, 'KeyManagerReady')?.reason === 'VaultSealed' && p;
    });
    expect(condition(sealed, 'KeyManagerReady')).toMatchObject({ status: 'False' });
    expect(condition(sealed, 'Ready')?.status).toBe('True');
    const up = (await metrics.policyKeyManagerUp.get()).values.find(
      (v) => v.labels.namespace === ns && v.labels.key_manager === 'vault-transit',
    );
    expect(up?.value).toBe(0);
    const events = (await cluster.events(ns)).map((e) => `${e.type}/${e.reason}`);
    expect(events).toEqual(
      expect.arrayContaining(['Normal/KeyManagerHealthy', 'Warning/KeyManagerUnhealthy']),
    );

    const wide = await kubectlOk(kube.kubeconfigPath, ['get', 'encpol', 'v', '-n', ns, '-o', 'wide']);
    expect(wide).toMatch(/VaultTransit\s+VaultSealed\s+Ready/);
  });

  it('probes AWS KMS with its own key pair, and reports a disabled key', async () => {
    const ns = await cluster.createNamespace('kms');
    await cluster.createSecret(ns, 'creds', creds);
    await cluster.createSecret(ns, 'kms', {
      AWS_ACCESS_KEY_ID: 'AKIDKMS',
      AWS_SECRET_ACCESS_KEY: 'kms-secret',
    });
    const fake = fakeProbe(() => ({ ok: false, reason: 'KMSKeyDisabled', message: 'key is disabled' }));
    controller = await startController({ keyManagerProbe: fake.probe });
    const keyId = 'arn:aws:kms:eu-central-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    await cluster.applyPolicy(ns, 'k', {
      upstream,
      key: { source: 'AWSKMS', awsKms: { keyId, credentialsSecretRef: { name: 'kms' } } },
    });
    const policy = await ready(ns, 'k');
    await eventually(
      'KMSKeyDisabled',
      async () => condition(await cluster.policy(ns, 'k'), 'KeyManagerReady')?.reason === 'KMSKeyDisabled',
    );
    expect(policy.status?.keySource).toBe('AWSKMS');
    // Policies of earlier tests are probed too: look at this one's.
    expect(fake.calls.find((c) => c.kind === 'aws-kms')).toEqual({
      kind: 'aws-kms',
      options: {
        id: 'kms',
        keyId,
        region: 'eu-central-1',
        credentials: { accessKeyId: 'AKIDKMS', secretAccessKey: 'kms-secret' },
      },
    });
    const text =
      (await cluster.core.readNamespacedConfigMap({ namespace: ns, name: 'k-s3seal-proxy' })).data?.[
        'proxy.yaml'
      ] ?? '';
    expect(text).toContain('keySource: aws-kms');
    expect(text).not.toContain('kms-secret');
    expect(text).not.toContain('AKIDKMS');
  });

  it('keeps a managed keyring (never deleted, no longer rotated) as a read source after a switch to Vault', async () => {
    const ns = await cluster.createNamespace('switch');
    await cluster.createSecret(ns, 'creds', creds);
    await cluster.createSecret(ns, 'vault-token', { token: VAULT_TOKEN });
    const fake = fakeProbe(() => ({ ok: true, reason: 'VaultReachable', message: 'ok' }));
    controller = await startController({ keyManagerProbe: fake.probe });
    await cluster.applyPolicy(ns, 'p', { upstream, key: { managed: { rotationPeriod: '720h' } } });
    await ready(ns, 'p');
    const before = await cluster.secret(ns, 'p-kek');
    const address = 'https://vault-switch.example:8200';
    const ours = (): KeyManagerTarget[] =>
      fake.calls.filter((c) => c.kind === 'vault-transit' && c.options.address === address);
    expect(ours()).toEqual([]);

    await cluster.patchPolicy(ns, 'p', {
      spec: { key: { source: 'VaultTransit', vaultTransit: { ...vaultTransit, address } } },
    });
    const switched = await eventually('switched to Vault', async () => {
      const p = await cluster.policy(ns, 'p');
      return p?.status?.keySource === 'VaultTransit' && condition(p, 'Ready')?.status === 'True' && p;
    });
    expect(switched.status).toMatchObject({ keySecretName: 'p-kek', keyringId: 'p', keyVersions: 1 });
    expect(switched.status?.activeKeyVersion).toBeUndefined();
    expect(switched.status?.nextRotationTime).toBeUndefined();
    const text =
      (await cluster.core.readNamespacedConfigMap({ namespace: ns, name: 'p-s3seal-proxy' })).data?.[
        'proxy.yaml'
      ] ?? '';
    expect(text).toContain('kekDir: /etc/s3seal/kek');
    expect(text).toContain('keyringId: p');
    expect(text).toContain('keySource: vault-transit');
    expect(text).toContain(`vaultAddress: ${address}`);
    expect(text).not.toContain(VAULT_TOKEN);
    expect(ours().length).toBeGreaterThan(0);

    // Far past the rotation period: an external source stops rotation, and the keyring stays as it was.
    clockOffsetMs = 31 * DAY_MS;
    await cluster.patchPolicy(ns, 'p', { metadata: { labels: { nudge: '1' } } });
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await cluster.secret(ns, 'p-kek'))?.data).toEqual(before?.data);

    // Deleting the kept keyring is noticed, not papered over.
    await cluster.core.deleteNamespacedSecret({ namespace: ns, name: 'p-kek' });
    await eventually(
      'KeySecretLost',
      async () => condition(await cluster.policy(ns, 'p'), 'KeyReady')?.reason === 'KeySecretLost',
    );
  });
});
