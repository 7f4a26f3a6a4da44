import type { V1MutatingWebhookConfiguration } from '@kubernetes/client-node';

import type { JsonPatchOperation } from './admission-review.js';
import { parseCaBundle } from './certificate-rotation.js';

/**
 * CAs in the caBundle of every webhook of the configuration: those the apiserver trusts whichever
 * webhook it calls. Undefined when there are no webhooks, so no call can fail.
 */
export function publishedCaPems(configuration: V1MutatingWebhookConfiguration): string[] | undefined {
  const webhooks = configuration.webhooks ?? [];
  if (webhooks.length === 0) return undefined;
  const [first = [], ...rest] = webhooks.map((webhook) =>
    parseCaBundle(Buffer.from(webhook.clientConfig.caBundle ?? '', 'base64').toString('utf8')),
  );
  return first
    .filter((ca) =>
      rest.every((bundle) => bundle.some((other) => other.fingerprint256 === ca.fingerprint256)),
    )
    .map((ca) => ca.toString());
}

/**
 * A JSON patch setting `clientConfig.caBundle` on every webhook whose bundle differs; empty when
 * all match. Addressed by index, each guarded by a `test` of the webhook's name: a merge patch
 * would replace the whole webhooks list and drop concurrent edits to other fields, and the test
 * makes a reordered list fail (422) instead of patching the wrong webhook.
 */
export function caBundlePatch(
  configuration: V1MutatingWebhookConfiguration,
  caBundlePem: string,
): JsonPatchOperation[] {
  const caBundle = Buffer.from(caBundlePem).toString('base64');
  return (configuration.webhooks ?? []).flatMap((webhook, index): JsonPatchOperation[] =>
    webhook.clientConfig.caBundle === caBundle
      ? []
      : [
          { op: 'test', path: `/webhooks/${index}/name`, value: webhook.name },
          { op: 'add', path: `/webhooks/${index}/clientConfig/caBundle`, value: caBundle },
        ],
  );
}
