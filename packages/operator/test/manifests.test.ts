import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type KubeApi, startKubeApi } from '@s3seal/testkit';
import { parseAllDocuments } from 'yaml';

import { ANNOTATION_INJECT, ANNOTATION_POLICY, CRD_NAME } from '../src/api/names.js';
import { kubectl, type KubectlResult, kubectlOk } from './helpers/kubectl.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const MANIFESTS = path.join(repoRoot, 'manifests');
const EXAMPLES = path.join(MANIFESTS, 'examples');
const OPERATOR = 'system:serviceaccount:s3seal-system:s3seal-operator';

// Loose shapes: only what the assertions read.
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [field: string]: unknown;
}
interface Container {
  name: string;
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
}
interface PodTemplate {
  metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
  spec: { containers: Container[] };
}

function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text).map((doc) => doc.toJSON() as Manifest);
}

function find(manifests: Manifest[], kind: string, name?: string): Manifest {
  const found = manifests.find((m) => m.kind === kind && (name === undefined || m.metadata.name === name));
  if (found === undefined) throw new Error(`no ${kind} ${name ?? ''} in the rendered manifests`);
  return found;
}

/** The value of `--flag=value` in an argument list. */
function flag(args: readonly string[], name: string): string | undefined {
  return args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
}

/** A Pod that passes the `restricted` Pod Security level, so only the webhook can refuse it. */
function pod(name: string, namespace: string, annotations: Record<string, string>): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, annotations },
    spec: {
      securityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'app',
          image: 'registry.k8s.io/pause:3.10',
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        },
      ],
    },
  });
}

const injectAnnotations = { [ANNOTATION_INJECT]: 'true', [ANNOTATION_POLICY]: 'backups' };

describe('manifests/ on a real kube-apiserver', () => {
  let kube: KubeApi;
  let rendered: Manifest[];
  let install: KubectlResult;
  let examples: KubectlResult;

  const run = (args: readonly string[], stdin?: string): Promise<KubectlResult> =>
    kubectl(kube.kubeconfigPath, args, stdin);
  const runOk = (args: readonly string[], stdin?: string): Promise<string> =>
    kubectlOk(kube.kubeconfigPath, args, stdin);
  /** `kubectl auth can-i` as the operator's ServiceAccount; exits 0 for yes and 1 for no. */
  const operatorCan = async (args: readonly string[]): Promise<string> => {
    const result = await run(['auth', 'can-i', ...args, `--as=${OPERATOR}`]);
    if (result.code > 1) throw new Error(`kubectl auth can-i ${args.join(' ')} failed: ${result.stderr}`);
    return result.stdout.trim();
  };

  beforeAll(async () => {
    kube = await startKubeApi();
    rendered = parseManifests(await runOk(['kustomize', MANIFESTS]));
    install = await run(['apply', '-k', MANIFESTS]);
    if (install.code !== 0) return;
    await runOk(['wait', '--for=condition=Established', `crd/${CRD_NAME}`, '--timeout=60s']);
    examples = await run(['apply', '-k', EXAMPLES]);
    // The RBAC authorizer reads roles and bindings from an informer: wait until it has the new ones.
    for (let i = 0; i < 50 && (await operatorCan(['create', 'secrets', '-n', 'demo'])) !== 'yes'; i++) {
      await sleep(200);
    }
  });

  afterAll(async () => {
    await kube?.stop();
  });

  describe('kubectl kustomize manifests/', () => {
    it('renders each kind of the install once, and none of the examples', () => {
      const kinds = rendered.map((m) => m.kind).sort();
      expect(kinds).toEqual(
        [
          'ClusterRole',
          'ClusterRoleBinding',
          'CustomResourceDefinition',
          'Deployment',
          'MutatingWebhookConfiguration',
          'Namespace',
          'PodDisruptionBudget',
          'Role',
          'RoleBinding',
          'Service',
          'ServiceAccount',
        ].sort(),
      );
      expect(find(rendered, 'CustomResourceDefinition').metadata.name).toBe(CRD_NAME);
      expect(find(rendered, 'Namespace').metadata.name).toBe('s3seal-system');
    });

    it('names the same Service, Secret, Lease and webhook configuration everywhere', () => {
      const deployment = find(rendered, 'Deployment', 's3seal-operator') as Manifest & {
        spec: { template: PodTemplate };
      };
      const template = deployment.spec.template;
      const container = template.spec.containers.find((c) => c.name === 'operator');
      const args = container?.args ?? [];
      const service = find(rendered, 'Service') as Manifest & {
        spec: { selector: Record<string, string>; ports: { port: number; targetPort: number }[] };
      };
      const webhook = find(rendered, 'MutatingWebhookConfiguration') as Manifest & {
        webhooks: { clientConfig: { caBundle?: string; service: Record<string, unknown> } }[];
      };
      const role = find(rendered, 'Role') as Manifest & {
        rules: { resources: string[]; resourceNames?: string[] }[];
      };
      const namedIn = (resource: string): string[] =>
        role.rules.filter((r) => r.resources.includes(resource)).flatMap((r) => r.resourceNames ?? []);

      expect(flag(args, 'webhook-service')).toBe(service.metadata.name);
      expect(flag(args, 'webhook-configuration')).toBe(webhook.metadata.name);
      expect(namedIn('leases')).toEqual([flag(args, 'lease-name')]);
      expect(namedIn('secrets')).toEqual([flag(args, 'webhook-secret')]);
      expect(webhook.webhooks[0]?.clientConfig).toEqual({
        service: {
          name: service.metadata.name,
          namespace: service.metadata.namespace,
          path: '/mutate-pods',
          port: service.spec.ports[0]?.port,
        },
      });
      // The Service reaches the pods, on the port the operator listens on.
      expect(template.metadata.labels).toMatchObject(service.spec.selector);
      const webhookPort = container?.ports?.find((p) => p.name === 'webhook')?.containerPort;
      expect(service.spec.ports[0]?.targetPort).toBe(webhookPort);
      expect(flag(args, 'webhook-listen')).toBe(`0.0.0.0:${webhookPort}`);
    });
  });

  describe('kubectl apply -k', () => {
    it('installs s3seal without a warning (Pod Security, unknown fields)', () => {
      expect(install.stderr).toBe('');
      expect(install.code).toBe(0);
      expect(install.stdout).toContain(
        'mutatingwebhookconfiguration.admissionregistration.k8s.io/s3seal-injector',
      );
    });

    it('installs the examples once the CRD is Established', async () => {
      expect(examples.stderr).toBe('');
      expect(examples.code).toBe(0);
      const policy = JSON.parse(await runOk(['get', 'encpol', 'backups', '-n', 'demo', '-o', 'json'])) as {
        spec: { buckets: { names: string[] }; multipart: { mode: string } };
      };
      expect(policy.spec.buckets.names).toEqual(['pg-backups', 'loki-*']);
      expect(policy.spec.multipart.mode).toBe('encrypt');
      // Stored only: no controller runs here to make a ReplicaSet, so no pod reaches the webhook.
      await runOk(['get', 'deployment', 'backup-job', '-n', 'demo']);
    });
  });

  describe('the injection webhook', () => {
    it('fails closed: an annotated Pod is refused while the webhook is unreachable', async () => {
      const result = await run(['create', '-f', '-'], pod('annotated', 'demo', injectAnnotations));
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain('failed calling webhook "inject.s3seal.io"');
      expect((await run(['get', 'pod', 'annotated', '-n', 'demo'])).stderr).toContain('NotFound');
    });

    it.each([
      ['no annotation', {}],
      ['inject set to false', { [ANNOTATION_INJECT]: 'false' }],
    ])('never calls the webhook for a Pod with %s', async (_what, annotations) => {
      const name = `plain-${Object.keys(annotations).length}`;
      await runOk(['create', '-f', '-'], pod(name, 'demo', annotations));
      await runOk(['get', 'pod', name, '-n', 'demo']);
    });

    it('leaves out kube-system', async () => {
      const result = await run(
        ['create', '--dry-run=server', '-f', '-'],
        pod('annotated', 'kube-system', injectAnnotations),
      );
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
    });

    it("leaves out s3seal-system, whose restricted level the operator's own pods pass", async () => {
      const deployment = JSON.parse(
        await runOk(['get', 'deployment', 's3seal-operator', '-n', 's3seal-system', '-o', 'json']),
      ) as { spec: { template: PodTemplate } };
      const { metadata, spec } = deployment.spec.template;
      const operatorPod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: 's3seal-operator-dry-run',
          namespace: 's3seal-system',
          labels: metadata.labels,
          // Even annotated, a pod here must not wait on the webhook it would itself serve.
          annotations: injectAnnotations,
        },
        spec,
      };
      const result = await run(['create', '--dry-run=server', '-f', '-'], JSON.stringify(operatorPod));
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
    });
  });

  describe("the operator's RBAC", () => {
    it.each([
      ['create key Secrets in a policy namespace', ['create', 'secrets', '-n', 'demo']],
      ['watch Secrets in every namespace', ['watch', 'secrets', '--all-namespaces']],
      [
        'patch policy status',
        ['patch', 'encryptionpolicies.s3seal.io', '--subresource=status', '-n', 'demo'],
      ],
      ['write proxy ConfigMaps', ['update', 'configmaps', '-n', 'demo']],
      ['record core Events', ['create', 'events', '-n', 'demo']],
      ['record events.k8s.io Events', ['patch', 'events.events.k8s.io', '-n', 'demo']],
      ['create its Lease', ['create', 'leases.coordination.k8s.io', '-n', 's3seal-system']],
      ['renew its Lease', ['update', 'leases.coordination.k8s.io/s3seal-operator', '-n', 's3seal-system']],
      ['patch its webhook configuration', ['patch', 'mutatingwebhookconfigurations/s3seal-injector']],
    ])('can %s', async (_what, args) => {
      expect(await operatorCan(args)).toBe('yes');
    });

    it.each([
      ['delete Secrets (key material)', ['delete', 'secrets', '-n', 'demo']],
      ['delete its own Secrets', ['delete', 'secrets/s3seal-webhook-tls', '-n', 's3seal-system']],
      ['delete policies', ['delete', 'encryptionpolicies.s3seal.io', '-n', 'demo']],
      ['change policy specs', ['update', 'encryptionpolicies.s3seal.io', '-n', 'demo']],
      ['update a Lease outside its namespace', ['update', 'leases.coordination.k8s.io/s3seal-operator']],
      ['create a Lease outside its namespace', ['create', 'leases.coordination.k8s.io']],
      ['update another Lease', ['update', 'leases.coordination.k8s.io/other', '-n', 's3seal-system']],
      ['patch another webhook configuration', ['patch', 'mutatingwebhookconfigurations/other']],
      ['delete its webhook configuration', ['delete', 'mutatingwebhookconfigurations/s3seal-injector']],
      ['create pods', ['create', 'pods', '-n', 'demo']],
      ['grant itself more', ['create', 'clusterrolebindings']],
    ])('cannot %s', async (_what, args) => {
      expect(await operatorCan(args)).toBe('no');
    });
  });

  // Last: it gives the webhook a CA bundle.
  it('keeps the CA bundle the operator patched in when the manifests are applied again', async () => {
    const caBundle = Buffer.from('-----BEGIN CERTIFICATE-----\nstub\n-----END CERTIFICATE-----\n').toString(
      'base64',
    );
    // As the operator does it: a JSON patch, with the operator's own permissions.
    await runOk([
      'patch',
      'mutatingwebhookconfiguration',
      's3seal-injector',
      '--type=json',
      `-p=${JSON.stringify([{ op: 'add', path: '/webhooks/0/clientConfig/caBundle', value: caBundle }])}`,
      `--as=${OPERATOR}`,
    ]);
    const published = async (): Promise<string> =>
      runOk([
        'get',
        'mutatingwebhookconfiguration',
        's3seal-injector',
        '-o',
        'jsonpath={.webhooks[0].clientConfig.caBundle}',
      ]);
    expect(await published()).toBe(caBundle);

    await runOk(['apply', '-k', MANIFESTS]);
    expect(await published()).toBe(caBundle);
    await runOk(['apply', '--server-side', '-k', MANIFESTS]);
    expect(await published()).toBe(caBundle);
  });
});
