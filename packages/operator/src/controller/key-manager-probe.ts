/**
 * How the controller asks an external key manager (Vault/OpenBao Transit, AWS KMS) whether the
 * key a policy names is usable. The controller only sees this interface; the default
 * implementation loads the shared clients of `@s3seal/key-providers` (the ones the proxy uses)
 * on first use, so the operator runs, and its tests fake the probe, without that package.
 */

/** What a probe found; `reason` is a condition reason (VaultReachable, KMSKeyDisabled, …). */
export interface ProbeResult {
  readonly ok: boolean;
  readonly reason: string;
  readonly message: string;
}

/** Reason of a probe that could not run at all (no client library): the condition is Unknown. */
export const PROBE_UNAVAILABLE = 'ProbeUnavailable';

/**
 * Vault auth as the operator can use it. `token`: the policy's token Secret. `kubernetes`
 * comes without a service-account token on purpose: the operator cannot log in as the
 * application's service account, so the check only proves Vault reachable and unsealed.
 */
export type VaultProbeAuth =
  | { readonly method: 'token'; readonly token: string }
  | { readonly method: 'kubernetes'; readonly role: string; readonly mount: string };

/** VaultTransitSource.create() options of @s3seal/key-providers (jwtFile left out, see above). */
export interface VaultProbeOptions {
  readonly id: string;
  readonly address: string;
  readonly mount: string;
  readonly key: string;
  readonly namespace?: string;
  readonly auth: VaultProbeAuth;
  readonly caPem?: string;
  readonly timeoutMs?: number;
}

/** AwsKmsSource.create() options of @s3seal/key-providers. */
export interface KmsProbeOptions {
  readonly id: string;
  readonly keyId: string;
  readonly region: string;
  readonly endpoint?: string;
  readonly previousKeyArns?: readonly string[];
  readonly credentials?: {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly sessionToken?: string;
  };
  readonly timeoutMs?: number;
}

export type KeyManagerTarget =
  | { readonly kind: 'vault-transit'; readonly options: VaultProbeOptions }
  | { readonly kind: 'aws-kms'; readonly options: KmsProbeOptions };

export interface KeyManagerProbe {
  /** Never throws for a key manager's answer (or silence): a failure is a result. */
  probe(target: KeyManagerTarget): Promise<ProbeResult>;
}

/** The part of @s3seal/key-providers the operator uses. */
interface CheckableSource {
  check(): Promise<ProbeResult>;
  close(): Promise<void>;
}
export interface KeyProvidersModule {
  readonly VaultTransitSource: { create(options: VaultProbeOptions): Promise<CheckableSource> };
  readonly AwsKmsSource: { create(options: KmsProbeOptions): Promise<CheckableSource> };
}

const KEY_PROVIDERS = '@s3seal/key-providers';
const CONDITION_REASON = /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/;

/** Loads the client package on first use: an operator with only keyring policies never does. */
async function loadKeyProviders(): Promise<KeyProvidersModule> {
  const providers = await import('@s3seal/key-providers');
  return {
    VaultTransitSource: {
      // Kubernetes auth: no credentials at all, so the client's check() proves only that Vault is
      // reachable and unsealed (it would otherwise log in with the operator's own token).
      create: (options) =>
        providers.VaultTransitSource.create({
          ...options,
          auth: options.auth.method === 'token' ? options.auth : undefined,
        }),
    },
    AwsKmsSource: providers.AwsKmsSource,
  };
}

/** The default probe: one short-lived client per check, closed afterwards. */
export class KeyProvidersProbe implements KeyManagerProbe {
  private module: Promise<KeyProvidersModule> | undefined;

  constructor(
    private readonly options: {
      readonly timeoutMs?: number;
      readonly load?: () => Promise<KeyProvidersModule>;
    } = {},
  ) {}

  async probe(target: KeyManagerTarget): Promise<ProbeResult> {
    let providers: KeyProvidersModule;
    try {
      this.module ??= (this.options.load ?? loadKeyProviders)();
      providers = await this.module;
    } catch (err: unknown) {
      this.module = undefined;
      return {
        ok: false,
        reason: PROBE_UNAVAILABLE,
        message: `the key-manager client (${KEY_PROVIDERS}) could not be loaded: ${(err as Error).message}`,
      };
    }
    const timeoutMs = this.options.timeoutMs ?? 5_000;
    const unreachable = target.kind === 'vault-transit' ? 'VaultUnreachable' : 'KMSUnreachable';
    let source: CheckableSource | undefined;
    try {
      source =
        target.kind === 'vault-transit'
          ? await providers.VaultTransitSource.create({ ...target.options, timeoutMs })
          : await providers.AwsKmsSource.create({ ...target.options, timeoutMs });
      const result = await source.check();
      return {
        ok: result.ok,
        // Condition reasons have a grammar; a client's free text must not break the status write.
        reason: CONDITION_REASON.test(result.reason) ? result.reason : result.ok ? 'Reachable' : unreachable,
        message: result.message,
      };
    } catch (err: unknown) {
      return { ok: false, reason: unreachable, message: (err as Error).message };
    } finally {
      await source?.close().catch(() => undefined);
    }
  }
}
