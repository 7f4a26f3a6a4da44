import { spawn } from 'node:child_process';
import { execFile } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

import { freePort, startKubeApi } from '@s3seal/testkit';
import type { CommandModule } from 'yargs';
import { parse, parseAllDocuments, stringify } from 'yaml';

const execFileAsync = promisify(execFile);

interface K8sDemoArgs {
  repo: string;
  keep: boolean;
}

type Manifest = Record<string, unknown> & { kind?: string; metadata?: { name?: string; namespace?: string } };

/**
 * The Kubernetes side shown to a person: a real etcd + kube-apiserver (the test rig's), the CRD
 * and the webhook configuration from the repository, the operator as a local process (the
 * webhook registered by URL, since no Service routes here), then the example policy and a pod
 * from the example Deployment's template. No kubelet runs: pods are admitted and stored, which
 * is exactly what shows the injection.
 */
export const k8sDemoCommand: CommandModule<object, K8sDemoArgs> = {
  command: 'k8s-demo',
  describe:
    'show the operator on a local kube-apiserver: a policy reaching Ready and a pod getting the proxy',
  builder: (y) =>
    y
      .option('repo', {
        type: 'string',
        default: '.',
        describe: 'repository root (crds/, manifests/, packages/operator/dist)',
      })
      .option('keep', {
        type: 'boolean',
        default: false,
        describe: 'keep everything running until Ctrl-C (prints a KUBECONFIG to explore with kubectl)',
      }),
  handler: async (args) => {
    const repo = resolve(args.repo);
    const say = (text: string): boolean => process.stdout.write(`${text}\n`);
    say('starting etcd and kube-apiserver (the test rig’s, as envtest runs them) ...');
    const kube = await startKubeApi();
    const kubectl = async (kubectlArgs: string[], input?: string): Promise<string> => {
      const run = execFileAsync('kubectl', ['--kubeconfig', kube.kubeconfigPath, ...kubectlArgs]);
      if (input !== undefined) run.child.stdin?.end(input);
      return (await run).stdout;
    };
    let operator: ReturnType<typeof spawn> | undefined;
    try {
      say('$ kubectl apply -f crds/');
      say(await kubectl(['apply', '-f', join(repo, 'crds/encryptionpolicies.s3seal.io.yaml')]));
      await kubectl([
        'wait',
        '--for=condition=Established',
        'crd/encryptionpolicies.s3seal.io',
        '--timeout=60s',
      ]);
      await kubectl(['apply', '-f', join(repo, 'manifests/namespace.yaml')]);

      const webhookPort = await freePort();
      const healthPort = await freePort();
      const webhook = parse(readFileSync(join(repo, 'manifests/webhook.yaml'), 'utf8')) as {
        webhooks: { clientConfig: Record<string, unknown> }[];
      };
      for (const w of webhook.webhooks)
        w.clientConfig = { url: `https://127.0.0.1:${webhookPort}/mutate-pods` };
      say(
        `$ kubectl apply -f manifests/webhook.yaml   # clientConfig.url https://127.0.0.1:${webhookPort}/mutate-pods`,
      );
      say(await kubectl(['apply', '-f', '-'], stringify(webhook)));

      const logPath = join(repo, '.cache', 'k8s-demo-operator.log');
      say(`starting s3seal-operator as a local process (log: ${logPath}) ...`);
      const log = openSync(logPath, 'w');
      operator = spawn(
        process.execPath,
        [
          join(repo, 'packages/operator/dist/main.js'),
          `--kubeconfig=${kube.kubeconfigPath}`,
          '--namespace=s3seal-system',
          '--sidecar-image=ghcr.io/s3seal/proxy:0.1.0',
          `--webhook-listen=127.0.0.1:${webhookPort}`,
          '--webhook-hosts=127.0.0.1',
          `--health-listen=127.0.0.1:${healthPort}`,
        ],
        { stdio: ['ignore', log, log] },
      );
      await until(
        'the operator is ready',
        async () => (await fetch(`http://127.0.0.1:${healthPort}/readyz`)).ok,
      );

      say(
        '$ kubectl apply -k manifests/examples/   # namespace demo, Secrets (stubs), EncryptionPolicy backups',
      );
      say(await kubectl(['apply', '-k', join(repo, 'manifests/examples')]));
      await kubectl([
        'wait',
        '-n',
        'demo',
        'encryptionpolicy/backups',
        '--for=condition=Ready',
        '--timeout=60s',
      ]);
      say('$ kubectl get encryptionpolicies -A');
      say(await kubectl(['get', 'encryptionpolicies', '-A']));
      say('$ kubectl get secret -n demo backups-kek   # the key the operator minted');
      say(await kubectl(['get', 'secret', '-n', 'demo', 'backups-kek']));

      // No ReplicaSet controller runs here, so create the pod the Deployment would.
      const deployment = parseAllDocuments(
        readFileSync(join(repo, 'manifests/examples/annotated-deployment.yaml'), 'utf8'),
      )
        .map((d) => d.toJS() as Manifest)
        .find((d) => d.kind === 'Deployment') as {
        spec: { template: Record<string, unknown> & { metadata: Record<string, unknown> } };
      };
      const pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        ...deployment.spec.template,
        metadata: { ...deployment.spec.template.metadata, name: 'backup-job-demo', namespace: 'demo' },
      };
      say(
        '$ kubectl create -f pod.yaml   # the example Deployment’s pod template, annotated s3seal.io/inject: "true"',
      );
      say(await kubectl(['create', '-f', '-'], stringify(pod)));
      const stored = JSON.parse(
        await kubectl(['get', 'pod', '-n', 'demo', 'backup-job-demo', '-o', 'json']),
      ) as {
        metadata: { annotations: Record<string, string> };
        spec: Record<string, unknown>;
      };
      say('the pod as stored (injected by the webhook):');
      say(
        stringify({
          metadata: { annotations: stored.metadata.annotations },
          spec: {
            initContainers: stored.spec.initContainers,
            containers: stored.spec.containers,
            volumes: stored.spec.volumes,
          },
        }),
      );
      if (args.keep) {
        say(
          `explore: export KUBECONFIG=${kube.kubeconfigPath}; kubectl get encpol -A; Ctrl-C stops everything`,
        );
        await new Promise<void>((done) => {
          process.once('SIGINT', done);
          process.once('SIGTERM', done);
        });
      }
    } finally {
      operator?.kill('SIGTERM');
      await kube.stop();
    }
  },
};

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}`);
}
