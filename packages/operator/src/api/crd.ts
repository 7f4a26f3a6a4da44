import { stringify } from 'yaml';

import { CRD_NAME, GROUP, KIND, PLURAL, SHORT_NAMES, SINGULAR, VERSION } from './names.js';
import { specSchema, statusSchema } from './schema.js';

type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json };

/**
 * Structural schemas may not say `additionalProperties: false` beside `properties`: the
 * apiserver prunes unknown fields instead. Everything else carries over as written.
 */
function toStructural(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(toStructural);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, Json> = {};
  for (const [key, value] of Object.entries(schema as { readonly [key: string]: Json })) {
    if (key === 'additionalProperties' && value === false) continue;
    // Maps of named sub-schemas: recurse into each schema, not into the names.
    out[key] = toStructural(value);
  }
  return out;
}

/** What `kubectl get encryptionpolicies` shows (priority 1 columns only with `-o wide`). */
export const PRINTER_COLUMNS = [
  { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
  { name: 'Key', type: 'string', jsonPath: '.status.activeKeyVersion', description: 'active key version' },
  { name: 'Buckets', type: 'string', jsonPath: '.spec.buckets.names' },
  { name: 'Multipart', type: 'string', jsonPath: '.spec.multipart.mode' },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  {
    name: 'Key-Source',
    type: 'string',
    priority: 1,
    jsonPath: '.status.keySource',
    description: 'what wraps the data keys of new objects',
  },
  {
    name: 'Key-Manager',
    type: 'string',
    priority: 1,
    jsonPath: '.status.conditions[?(@.type=="KeyManagerReady")].reason',
    description: 'health of the Vault / KMS key, as the operator sees it',
  },
  { name: 'Reason', type: 'string', priority: 1, jsonPath: '.status.conditions[?(@.type=="Ready")].reason' },
  { name: 'Upstream', type: 'string', priority: 1, jsonPath: '.spec.upstream.endpoint' },
  { name: 'Key-Secret', type: 'string', priority: 1, jsonPath: '.status.keySecretName' },
  { name: 'Rotated', type: 'date', priority: 1, jsonPath: '.status.lastRotationTime' },
] as const;

/** The CustomResourceDefinition, as installed from crds/. */
export function encryptionPolicyCrd(): Record<string, Json> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: CRD_NAME, labels: { 'app.kubernetes.io/name': 's3seal' } },
    spec: {
      group: GROUP,
      names: {
        kind: KIND,
        listKind: `${KIND}List`,
        plural: PLURAL,
        singular: SINGULAR,
        shortNames: [...SHORT_NAMES],
        categories: ['s3seal'],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: PRINTER_COLUMNS,
          schema: {
            openAPIV3Schema: toStructural({
              type: 'object',
              description:
                'How the s3seal proxy injected into annotated pods encrypts their S3 objects, and the key it uses.',
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: specSchema,
                status: statusSchema,
              },
            }),
          },
        },
      ],
    },
  };
}

export const CRD_FILE = 'crds/encryptionpolicies.s3seal.io.yaml';

/** The text of crds/encryptionpolicies.s3seal.io.yaml. */
export function renderCrdYaml(): string {
  return (
    '# Generated from packages/operator/src/api/schema.ts by `make crds`: edit the schema, not this file.\n' +
    stringify(encryptionPolicyCrd(), { lineWidth: 0 })
  );
}
