import type { KubernetesObject } from '@kubernetes/client-node';

/**
 * The work-queue key of an object: `namespace/name`, or `name` when cluster-scoped, as
 * client-go's MetaNamespaceKeyFunc builds it, so keys read the same in logs as in Go operators.
 */
export function objectKey(obj: KubernetesObject): string {
  const name = obj.metadata?.name ?? '';
  const namespace = obj.metadata?.namespace;
  return namespace === undefined || namespace === '' ? name : `${namespace}/${name}`;
}

/** Splits a key made by objectKey; `namespace` is undefined for cluster-scoped objects. */
export function splitObjectKey(key: string): { namespace: string | undefined; name: string } {
  const slash = key.indexOf('/');
  return slash === -1
    ? { namespace: undefined, name: key }
    : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}
