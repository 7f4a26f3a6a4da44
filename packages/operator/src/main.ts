#!/usr/bin/env node
// s3seal-operator: reconciles EncryptionPolicies and injects the proxy into annotated pods.
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';

import { startOperator } from './operator.js';
import type { ListenAddress } from './operator.js';
import { serviceDnsNames } from './webhook/certificates.js';
import {
  DEFAULT_TLS_SECRET_NAME,
  DEFAULT_WEBHOOK_CONFIGURATION_NAME,
} from './webhook/serving-certificate.js';

function parseListen(text: string): ListenAddress {
  const match = /^\[?([^\]]*)\]?:(\d{1,5})$/.exec(text);
  if (!match || Number(match[2]) > 65535) throw new Error(`"${text}" is not address:port`);
  return { host: match[1]!, port: Number(match[2]) };
}

const IP = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-f:]+)$/i;

async function main(): Promise<void> {
  const args = await yargs(hideBin(process.argv))
    .scriptName('s3seal-operator')
    .usage(
      '$0 [options]\n\nReconciles EncryptionPolicies (key Secrets, proxy config, status) and injects the s3seal proxy into pods annotated s3seal.io/inject: "true".',
    )
    .env('S3SEAL_OPERATOR')
    .option('namespace', {
      type: 'string',
      default: process.env.POD_NAMESPACE ?? 's3seal-system',
      describe: "the operator's namespace (its Lease and webhook certificate Secret)",
    })
    .option('sidecar-image', {
      type: 'string',
      demandOption: true,
      describe: 'proxy image injected into pods (a policy may override it)',
    })
    .option('sidecar-image-pull-policy', {
      choices: ['Always', 'IfNotPresent', 'Never'] as const,
      describe: 'imagePullPolicy of the injected proxy',
    })
    .option('webhook-listen', {
      type: 'string',
      default: '0.0.0.0:9443',
      describe: 'address:port of the HTTPS admission webhook',
    })
    .option('webhook-service', {
      type: 'string',
      default: 's3seal-webhook',
      describe: 'Service in front of the webhook (its DNS names go into the certificate)',
    })
    .option('webhook-hosts', {
      type: 'string',
      array: true,
      default: [] as string[],
      describe:
        'extra DNS names or IPs for the webhook certificate (e.g. 127.0.0.1 for a URL-registered webhook)',
    })
    .option('webhook-configuration', {
      type: 'string',
      default: DEFAULT_WEBHOOK_CONFIGURATION_NAME,
      describe: 'MutatingWebhookConfiguration whose caBundle the operator maintains',
    })
    .option('webhook-secret', {
      type: 'string',
      default: DEFAULT_TLS_SECRET_NAME,
      describe: 'Secret holding the webhook CA and serving certificate',
    })
    .option('health-listen', {
      type: 'string',
      default: '0.0.0.0:8081',
      describe: 'address:port of /healthz and /readyz ("" turns it off)',
    })
    .option('leader-elect', {
      type: 'boolean',
      default: true,
      describe: 'elect a leader through a Lease (required with more than one replica)',
    })
    .option('lease-name', {
      type: 'string',
      default: 's3seal-operator',
      describe: 'the Lease used for leader election',
    })
    .option('lease-duration-seconds', { type: 'number', default: 15 })
    .option('resync-seconds', {
      type: 'number',
      default: 300,
      describe: 'reconcile every policy this often even without changes',
    })
    .option('key-manager-probe-seconds', {
      type: 'number',
      default: 60,
      describe:
        'probe the Vault / KMS key of policies that use one this often (status condition KeyManagerReady)',
    })
    .option('kubeconfig', {
      type: 'string',
      describe: 'kubeconfig file (default: in-cluster, or $KUBECONFIG)',
    })
    .option('log-level', {
      choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const,
      default: 'info' as const,
    })
    .strict()
    .parse();

  const log = pino({ level: args['log-level'] });
  const kubeConfig = new KubeConfig();
  if (args.kubeconfig) kubeConfig.loadFromFile(args.kubeconfig);
  else kubeConfig.loadFromDefault();
  const extra = args['webhook-hosts'];
  const operator = await startOperator({
    kubeConfig,
    namespace: args.namespace,
    sidecar: {
      image: args['sidecar-image'],
      ...(args['sidecar-image-pull-policy'] ? { imagePullPolicy: args['sidecar-image-pull-policy'] } : {}),
    },
    webhookListen: parseListen(args['webhook-listen']),
    webhookHosts: {
      dnsNames: [
        ...serviceDnsNames(args['webhook-service'], args.namespace),
        ...extra.filter((h) => !IP.test(h)),
      ],
      ipAddresses: extra.filter((h) => IP.test(h)),
    },
    webhookConfigurationName: args['webhook-configuration'],
    webhookSecretName: args['webhook-secret'],
    ...(args['health-listen'] === '' ? {} : { healthListen: parseListen(args['health-listen']) }),
    ...(args['leader-elect']
      ? {
          leaderElection: {
            leaseName: args['lease-name'],
            leaseDurationSeconds: args['lease-duration-seconds'],
          },
        }
      : {}),
    resyncPeriodMs: args['resync-seconds'] * 1000,
    keyManagerProbeMs: args['key-manager-probe-seconds'] * 1000,
    log,
    onLostLeadership: () => {
      // Another replica may already act: stop at once, let Kubernetes restart us as a candidate.
      log.fatal('leadership lost; exiting');
      process.exit(1);
    },
  });
  log.info({ webhook: operator.webhookUrl, health: operator.healthUrl }, 's3seal-operator started');
  const stop = (): void => {
    void operator.stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`s3seal-operator: ${String((err as Error).stack ?? err)}\n`);
  process.exit(1);
});
