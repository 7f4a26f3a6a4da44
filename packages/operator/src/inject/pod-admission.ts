import type { CustomObjectsApi, V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';

import { API_VERSION, KIND } from '../api/names.js';
import { readPolicy } from '../api/policy-client.js';
import type { EventRecorder } from '../kube/event-recorder.js';
import type { AdmissionResultLabel, OperatorMetrics } from '../metrics.js';
import type { AdmissionHandler, AdmissionOutcome } from '../webhook/admission-review.js';
import { decideInjection } from './mutate-pod.js';
import type { PolicyLookup } from './mutate-pod.js';
import type { SidecarDefaults } from './sidecar.js';

export interface PodAdmissionOptions {
  readonly custom: CustomObjectsApi;
  readonly events: EventRecorder;
  readonly log: Logger;
  readonly sidecar: SidecarDefaults;
  readonly metrics?: OperatorMetrics;
}

/** Reads the policy live: a stale cache could admit a pod for a policy deleted a moment ago. */
export function policyLookup(custom: CustomObjectsApi): PolicyLookup {
  return (namespace, name) => readPolicy(custom, namespace, name);
}

/**
 * The webhook's answer for a pod: the injection patch, a pass for pods it leaves alone, or a
 * denial that says what to fix. Denials are also recorded as Events on the policy (when there
 * is one), where whoever owns it will look; the pod itself does not exist yet.
 */
export function podAdmissionHandler(options: PodAdmissionOptions): AdmissionHandler {
  const lookup = policyLookup(options.custom);
  return async (request): Promise<AdmissionOutcome> => {
    const pod = request.object as V1Pod | undefined;
    const namespace = request.namespace ?? pod?.metadata?.namespace ?? '';
    if (request.operation !== 'CREATE' || !pod) return { allowed: true };
    let decision: Awaited<ReturnType<typeof decideInjection>>;
    try {
      decision = await decideInjection(pod, namespace, lookup, options.sidecar);
    } catch (err: unknown) {
      // The server answers with a denial (fail closed); count it here.
      options.metrics?.admissions.inc({ result: 'error', reason: 'InternalError' });
      throw err;
    }
    const count = (result: AdmissionResultLabel, reason: string): void =>
      options.metrics?.admissions.inc({ result, reason });
    const podName = pod.metadata?.name ?? `${pod.metadata?.generateName ?? ''}<generated>`;
    const log = options.log.child({ pod: `${namespace}/${podName}`, uid: request.uid });
    switch (decision.kind) {
      case 'skip':
        log.debug({ reason: decision.message }, 'injection skipped');
        count('skipped', decision.reason);
        return { allowed: true };
      case 'deny': {
        log.info({ reason: decision.reason, message: decision.message }, 'pod denied');
        count('denied', decision.reason);
        const policyName = pod.metadata?.annotations?.['s3seal.io/policy'];
        if (policyName && decision.reason !== 'PolicyNotFound' && !request.dryRun) {
          void options.events.record(
            { apiVersion: API_VERSION, kind: KIND, name: policyName, namespace },
            'Warning',
            'InjectionDenied',
            `pod ${podName} denied: ${decision.message}`,
          );
        }
        return {
          allowed: false,
          status: { code: 403, reason: 'Forbidden', message: `s3seal: ${decision.message}` },
        };
      }
      case 'repoint':
        log.info('reinvoked: containers added since injection pointed at the proxy');
        count('repointed', 'ContainersAdded');
        return { allowed: true, patch: [...decision.patch] };
      case 'inject':
        log.info(
          { policy: decision.record.policy, containers: decision.record.containers },
          'proxy injected',
        );
        count('injected', 'Injected');
        return { allowed: true, patch: [...decision.patch] };
    }
  };
}
