import { describe, expect, it } from '@jest/globals';
import type { V1Pod } from '@kubernetes/client-node';

import { policyWithDefaults } from '../api/defaults.js';
import type { EncryptionPolicy } from '../api/types.js';
import type { JsonPatchOperation } from '../webhook/admission-review.js';
import { decideInjection } from './mutate-pod.js';

const defaults = { image: 'ghcr.io/s3seal/proxy:0.1.0' };

function readyPolicy(spec: Record<string, unknown> = {}): EncryptionPolicy {
  const policy = policyWithDefaults(
    { name: 'backups', namespace: 'db' },
    { upstream: { endpoint: 'https://s3.example.com', credentialsSecretRef: { name: 'creds' } }, ...spec },
  );
  policy.status = {
    conditions: [
      {
        type: 'Ready',
        status: 'True',
        reason: 'Ready',
        message: 'ok',
        lastTransitionTime: '2026-11-22T00:00:00Z',
      },
    ],
  };
  return policy;
}

function pod(annotations: Record<string, string>, spec: Partial<NonNullable<V1Pod['spec']>> = {}): V1Pod {
  return {
    metadata: { name: 'app', annotations },
    spec: {
      containers: [
        {
          name: 'app',
          image: 'app:1',
          env: [
            { name: 'AWS_ENDPOINT_URL', value: 'https://old' },
            { name: 'X', value: '1' },
          ],
        },
      ],
      ...spec,
    },
  };
}

const annotated = { 's3seal.io/inject': 'true', 's3seal.io/policy': 'backups' };
const lookupOf = (policy?: EncryptionPolicy) => (_ns: string, name: string) =>
  Promise.resolve(policy && policy.metadata.name === name ? policy : undefined);

/** Applies the subset of RFC 6902 the webhook emits, as the apiserver would. */
function applyPatch(target: V1Pod, patch: readonly JsonPatchOperation[]): V1Pod {
  const doc = structuredClone(target) as Record<string, unknown>;
  for (const op of patch) {
    const parts = op.path
      .split('/')
      .slice(1)
      .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
    const last = parts.pop()!;
    let node = doc as Record<string, unknown> | unknown[];
    for (const part of parts) node = (node as Record<string, unknown>)[part] as Record<string, unknown>;
    if (Array.isArray(node)) {
      if (op.op === 'add') node.splice(last === '-' ? node.length : Number(last), 0, op.value);
      else if (op.op === 'replace') node[Number(last)] = op.value;
    } else if (op.op === 'add' || op.op === 'replace') node[last] = op.value;
  }
  return doc;
}

describe('decideInjection', () => {
  it('injects a native sidecar first among init containers and points every container at it', async () => {
    const input = pod(annotated, {
      initContainers: [{ name: 'restore', image: 'restore:1' }],
      volumes: [{ name: 'data', emptyDir: {} }],
    });
    const decision = await decideInjection(input, 'db', lookupOf(readyPolicy()), defaults);
    expect(decision.kind).toBe('inject');
    if (decision.kind !== 'inject') return;
    const out = applyPatch(input, decision.patch);
    const [sidecar, restore] = out.spec!.initContainers!;
    expect(sidecar).toMatchObject({
      name: 's3seal-proxy',
      image: defaults.image,
      restartPolicy: 'Always',
      args: ['--config', '/etc/s3seal/config/proxy.yaml'],
      securityContext: { runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false },
    });
    expect(sidecar!.env).toEqual([
      { name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: 'creds', key: 'AWS_ACCESS_KEY_ID' } } },
      {
        name: 'AWS_SECRET_ACCESS_KEY',
        valueFrom: { secretKeyRef: { name: 'creds', key: 'AWS_SECRET_ACCESS_KEY' } },
      },
    ]);
    expect(sidecar!.volumeMounts!.every((m) => m.readOnly)).toBe(true);
    expect(restore!.env).toEqual([
      { name: 'AWS_ENDPOINT_URL', value: 'http://127.0.0.1:8080' },
      { name: 'AWS_ENDPOINT_URL_S3', value: 'http://127.0.0.1:8080' },
    ]);
    // The app's own endpoint is replaced, its other variables kept after ours.
    expect(out.spec!.containers[0]!.env).toEqual([
      { name: 'AWS_ENDPOINT_URL', value: 'http://127.0.0.1:8080' },
      { name: 'AWS_ENDPOINT_URL_S3', value: 'http://127.0.0.1:8080' },
      { name: 'X', value: '1' },
    ]);
    expect(out.spec!.volumes!.map((v) => v.name)).toEqual(['data', 's3seal-config', 's3seal-kek']);
    expect(out.spec!.volumes![2]!.secret).toEqual({ secretName: 'backups-kek', defaultMode: 0o444 });
    expect(out.metadata!.labels).toEqual({ 's3seal.io/injected': 'true' });
    expect(JSON.parse(out.metadata!.annotations!['s3seal.io/status']!)).toEqual({
      version: 1,
      policy: 'backups',
      sidecar: 's3seal-proxy',
      image: defaults.image,
      configMap: 'backups-s3seal-proxy',
      keySecret: 'backups-kek',
      containers: ['restore', 'app'],
    });
  });

  it('creates the lists a pod does not have, and mounts the Valkey password when multipart is on', async () => {
    const input: V1Pod = { metadata: { annotations: annotated }, spec: { containers: [{ name: 'app' }] } };
    const policy = readyPolicy({
      multipart: {
        mode: 'encrypt',
        valkey: { url: 'redis://v:6379', passwordSecretRef: { name: 'valkey', key: 'password' } },
      },
      sidecar: { image: 'registry.local/proxy:dev', port: 7480 },
    });
    const decision = await decideInjection(input, 'db', lookupOf(policy), defaults);
    if (decision.kind !== 'inject') throw new Error(decision.kind);
    const out = applyPatch(input, decision.patch);
    const sidecar = out.spec!.initContainers![0]!;
    expect(sidecar.image).toBe('registry.local/proxy:dev');
    expect(sidecar.env).toContainEqual({
      name: 'S3SEAL_VALKEY_PASSWORD',
      valueFrom: { secretKeyRef: { name: 'valkey', key: 'password' } },
    });
    expect(out.spec!.containers[0]!.env![0]).toEqual({
      name: 'AWS_ENDPOINT_URL',
      value: 'http://127.0.0.1:7480',
    });
  });

  it('skips pods that are not asked for or already injected, so a reinvocation changes nothing', async () => {
    const policy = readyPolicy();
    expect(await decideInjection(pod({}), 'db', lookupOf(policy), defaults)).toEqual({
      kind: 'skip',
      reason: 'NotRequested',
      message: 's3seal.io/inject is not "true"',
    });
    expect(
      (
        await decideInjection(
          pod({ ...annotated, 's3seal.io/inject': 'false' }),
          'db',
          lookupOf(policy),
          defaults,
        )
      ).kind,
    ).toBe('skip');
    const first = await decideInjection(pod(annotated), 'db', lookupOf(policy), defaults);
    if (first.kind !== 'inject') throw new Error(first.kind);
    const injected = applyPatch(pod(annotated), first.patch);
    expect(await decideInjection(injected, 'db', lookupOf(policy), defaults)).toEqual({
      kind: 'skip',
      reason: 'AlreadyInjected',
      message: 'already injected',
    });
    // Half of an injection (the record without the sidecar, or a sidecar without the record) is
    // a pod trying to pass as injected: denied.
    const noRecord = structuredClone(injected);
    delete noRecord.metadata!.annotations!['s3seal.io/status'];
    expect(await decideInjection(noRecord, 'db', lookupOf(policy), defaults)).toMatchObject({
      kind: 'deny',
      reason: 'InjectionTampered',
    });
    const recordOnly = pod({ ...annotated, 's3seal.io/status': '{"version":1}' });
    expect(await decideInjection(recordOnly, 'db', lookupOf(policy), defaults)).toMatchObject({
      kind: 'deny',
      reason: 'InjectionTampered',
    });
  });

  it('on reinvocation points containers added since injection at the proxy, without a second sidecar', async () => {
    const policy = readyPolicy({ sidecar: { port: 7480 } });
    const first = await decideInjection(pod(annotated), 'db', lookupOf(policy), defaults);
    if (first.kind !== 'inject') throw new Error(first.kind);
    const injected = applyPatch(pod(annotated), first.patch);
    // Another webhook adds a container after ours.
    injected.spec!.containers.push({ name: 'late', image: 'late:1' });
    const again = await decideInjection(injected, 'db', lookupOf(undefined), defaults);
    if (again.kind !== 'repoint') throw new Error(again.kind);
    const out = applyPatch(injected, again.patch);
    expect(out.spec!.initContainers!.filter((c) => c.name === 's3seal-proxy')).toHaveLength(1);
    expect(out.spec!.containers[1]!.env).toEqual([
      { name: 'AWS_ENDPOINT_URL', value: 'http://127.0.0.1:7480' },
      { name: 'AWS_ENDPOINT_URL_S3', value: 'http://127.0.0.1:7480' },
    ]);
    expect(out.spec!.containers[0]!.env).toEqual(injected.spec!.containers[0]!.env);
  });

  it.each([
    [
      'no policy named',
      { 's3seal.io/inject': 'true' },
      {},
      readyPolicy(),
      'PolicyNotNamed',
      's3seal.io/policy',
    ],
    ['a missing policy', annotated, {}, undefined, 'PolicyNotFound', 'db/backups'],
    ['a hostNetwork pod', annotated, { hostNetwork: true }, readyPolicy(), 'HostNetwork', 'hostNetwork'],
    [
      'a shared process namespace',
      annotated,
      { shareProcessNamespace: true },
      readyPolicy(),
      'SharedProcessNamespace',
      '/proc',
    ],
    [
      'an app container mounting the key volume',
      annotated,
      {
        containers: [{ name: 'sneaky', image: 'x', volumeMounts: [{ name: 's3seal-kek', mountPath: '/k' }] }],
      },
      readyPolicy(),
      'VolumeConflict',
      'only the proxy may mount',
    ],
    [
      'a port the app already uses',
      annotated,
      { containers: [{ name: 'web', ports: [{ containerPort: 8080 }] }] },
      readyPolicy(),
      'PortConflict',
      'spec.sidecar.port',
    ],
    [
      'a volume name clash',
      annotated,
      { volumes: [{ name: 's3seal-kek', emptyDir: {} }] },
      readyPolicy(),
      'VolumeConflict',
      's3seal-kek',
    ],
  ])('denies %s, saying what to fix', async (_what, annotations, spec, policy, reason, mentions) => {
    const decision = await decideInjection(pod(annotations, spec), 'db', lookupOf(policy), defaults);
    expect(decision).toMatchObject({ kind: 'deny', reason });
    if (decision.kind === 'deny') expect(decision.message).toContain(mentions);
  });

  it('denies while the policy is not Ready, quoting its condition', async () => {
    const policy = readyPolicy();
    policy.status = {
      conditions: [
        {
          type: 'Ready',
          status: 'False',
          reason: 'CredentialsSecretNotFound',
          message: 'Secret db/creds not found',
          lastTransitionTime: '2026-11-22T00:00:00Z',
        },
      ],
    };
    const decision = await decideInjection(pod(annotated), 'db', lookupOf(policy), defaults);
    expect(decision).toMatchObject({ kind: 'deny', reason: 'PolicyNotReady' });
    if (decision.kind === 'deny')
      expect(decision.message).toContain('CredentialsSecretNotFound: Secret db/creds not found');
    delete policy.status;
    expect(await decideInjection(pod(annotated), 'db', lookupOf(policy), defaults)).toMatchObject({
      kind: 'deny',
      reason: 'PolicyNotReady',
    });
  });
});

describe('decideInjection with an external key manager', () => {
  const vaultTransit = {
    address: 'https://vault.vault.svc:8200',
    keyName: 'app',
    caSecretRef: { name: 'vault-ca', key: 'ca.pem' },
    auth: { tokenSecretRef: { name: 'vault-token', key: 'token' } },
  };
  const inject = async (policy: EncryptionPolicy): Promise<V1Pod> => {
    const input = pod(annotated);
    const decision = await decideInjection(input, 'db', lookupOf(policy), defaults);
    if (decision.kind !== 'inject') throw new Error(`${decision.kind}: ${JSON.stringify(decision)}`);
    return applyPatch(input, decision.patch);
  };

  it('mounts the Vault token and CA as files, and no keyring the policy does not have', async () => {
    const out = await inject(readyPolicy({ key: { source: 'VaultTransit', vaultTransit } }));
    const sidecar = out.spec!.initContainers![0]!;
    expect(out.spec!.volumes).toEqual([
      {
        name: 's3seal-config',
        configMap: { name: 'backups-s3seal-proxy', items: [{ key: 'proxy.yaml', path: 'proxy.yaml' }] },
      },
      {
        name: 's3seal-vault-token',
        secret: { secretName: 'vault-token', items: [{ key: 'token', path: 'token' }], defaultMode: 0o444 },
      },
      {
        name: 's3seal-vault-ca',
        secret: { secretName: 'vault-ca', items: [{ key: 'ca.pem', path: 'ca.crt' }], defaultMode: 0o444 },
      },
    ]);
    expect(sidecar.volumeMounts).toEqual([
      { name: 's3seal-config', mountPath: '/etc/s3seal/config', readOnly: true },
      { name: 's3seal-vault-token', mountPath: '/etc/s3seal/vault-token', readOnly: true },
      { name: 's3seal-vault-ca', mountPath: '/etc/s3seal/vault-ca', readOnly: true },
    ]);
    // The token never becomes an environment variable the app could be handed by mistake.
    expect(sidecar.env!.map((e) => e.name)).toEqual(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']);
    const record = JSON.parse(out.metadata!.annotations!['s3seal.io/status']!) as Record<string, unknown>;
    expect(record).not.toHaveProperty('keySecret');
  });

  it('projects a service-account token for Kubernetes auth, and keeps the old keyring mounted', async () => {
    const policy = readyPolicy({
      key: {
        source: 'VaultTransit',
        vaultTransit: { ...vaultTransit, caSecretRef: undefined, auth: { kubernetes: { role: 'app' } } },
      },
    });
    policy.status = { ...policy.status, keySecretName: 'backups-kek' };
    const out = await inject(policy);
    expect(out.spec!.volumes!.map((v) => v.name)).toEqual([
      's3seal-config',
      's3seal-kek',
      's3seal-vault-sa-token',
    ]);
    expect(out.spec!.volumes![2]).toEqual({
      name: 's3seal-vault-sa-token',
      projected: {
        defaultMode: 0o444,
        sources: [{ serviceAccountToken: { audience: 'vault', expirationSeconds: 3600, path: 'token' } }],
      },
    });
    expect(out.spec!.initContainers![0]!.volumeMounts).toContainEqual({
      name: 's3seal-vault-sa-token',
      mountPath: '/var/run/secrets/s3seal/vault',
      readOnly: true,
    });
    const withAudience = readyPolicy({
      key: {
        source: 'VaultTransit',
        vaultTransit: {
          ...vaultTransit,
          caSecretRef: undefined,
          auth: { kubernetes: { role: 'app', audience: 'https://vault.example' } },
        },
      },
    });
    const projected = (await inject(withAudience)).spec!.volumes!.find((v) => v.projected)!.projected!;
    expect(projected.sources![0]!.serviceAccountToken!.audience).toBe('https://vault.example');
  });

  it('passes KMS credentials as environment variables from their Secret', async () => {
    const out = await inject(
      readyPolicy({
        key: {
          source: 'AWSKMS',
          awsKms: { keyId: 'alias/s3seal', credentialsSecretRef: { name: 'kms', accessKeyIdKey: 'id' } },
        },
      }),
    );
    const sidecar = out.spec!.initContainers![0]!;
    expect(sidecar.env!.slice(2)).toEqual([
      { name: 'S3SEAL_KMS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: 'kms', key: 'id' } } },
      {
        name: 'S3SEAL_KMS_SECRET_ACCESS_KEY',
        valueFrom: { secretKeyRef: { name: 'kms', key: 'AWS_SECRET_ACCESS_KEY' } },
      },
    ]);
    expect(out.spec!.volumes!.map((v) => v.name)).toEqual(['s3seal-config']);
  });

  it('denies pods that already use a volume name s3seal injects for Vault', async () => {
    const policy = readyPolicy({ key: { source: 'VaultTransit', vaultTransit } });
    const clash = pod(annotated, { volumes: [{ name: 's3seal-vault-token', emptyDir: {} }] });
    expect(await decideInjection(clash, 'db', lookupOf(policy), defaults)).toMatchObject({
      kind: 'deny',
      reason: 'VolumeConflict',
    });
    const mounter = pod(annotated);
    mounter.spec!.containers[0]!.volumeMounts = [{ name: 's3seal-vault-ca', mountPath: '/ca' }];
    expect(await decideInjection(mounter, 'db', lookupOf(policy), defaults)).toMatchObject({
      kind: 'deny',
      reason: 'VolumeConflict',
    });
  });
});
