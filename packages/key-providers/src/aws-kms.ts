import { CoreError, encryptionContextOf, KMS_KEY_ARN_PATTERN } from '@s3seal/core';
import type { KeySource, WrapContext, WrappedDataKey } from '@s3seal/core';
import type { KMSClient } from '@aws-sdk/client-kms';
import type * as KmsSdk from '@aws-sdk/client-kms';
import { denied, describeFailure, unavailable, unwrapFailed } from './errors.js';
import type { KeyManagerHealth, ProbedKeySource } from './health.js';

export interface AwsKmsOptions {
  /** Recorded in each object; see KeySource.id. */
  readonly id: string;
  /** Key id, key ARN, `alias/<name>` or alias ARN: what new data keys are generated under. */
  readonly keyId: string;
  readonly region: string;
  /** A VPC endpoint, or a KMS-compatible server in tests. */
  readonly endpoint?: string | undefined;
  /** ARNs of keys that wrapped older objects (before an alias moved); trusted to unwrap. */
  readonly previousKeyArns?: readonly string[] | undefined;
  /** Explicit credentials; none: the AWS SDK's standard chain (environment, web identity, profile, IMDS). */
  readonly credentials?:
    | {
        readonly accessKeyId: string;
        readonly secretAccessKey: string;
        readonly sessionToken?: string | undefined;
      }
    | undefined;
  /** Per call (default 5 s). */
  readonly timeoutMs?: number;
}

// KMS errors by what the caller should do about them.
const UNWRAP_FAILURES = new Set(['InvalidCiphertextException', 'IncorrectKeyException']);
const REFUSALS = new Set([
  'AccessDeniedException',
  'DisabledException',
  'KMSInvalidStateException',
  'NotFoundException',
  'InvalidKeyUsageException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'ExpiredTokenException',
  'CredentialsProviderError',
]);

/**
 * Data keys from AWS KMS: GenerateDataKey for each new object and Decrypt to open one, both
 * with an encryption context that names the bucket and binds the object's metadata (and key).
 * The KMS key ARN that wrapped a data key is recorded per object; only this source's key (its
 * alias resolved) and the listed previous keys are trusted to unwrap, so an object whose
 * metadata names another key, even one this role may use, is refused before KMS is asked.
 */
export class AwsKmsSource implements KeySource, ProbedKeySource {
  readonly scheme = 'aws-kms' as const;
  readonly id: string;
  private readonly trusted: Set<string>;
  /** The ARN keyId resolves to (DescribeKey), refreshed by check(). */
  private keyArn: string | undefined;
  private resolving: Promise<string> | undefined;

  private constructor(
    private readonly options: AwsKmsOptions,
    private readonly client: KMSClient,
    private readonly sdk: typeof KmsSdk,
  ) {
    this.id = options.id;
    this.trusted = new Set(options.previousKeyArns ?? []);
    if (KMS_KEY_ARN_PATTERN.test(options.keyId)) this.keyArn = options.keyId;
  }

  /** Loads the SDK only when KMS is configured (it is large); no network call. */
  static async create(options: AwsKmsOptions): Promise<AwsKmsSource> {
    const sdk = await import('@aws-sdk/client-kms');
    const { credentials, timeoutMs = 5000 } = options;
    const client = new sdk.KMSClient({
      region: options.region,
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      ...(credentials === undefined
        ? {}
        : {
            credentials: {
              accessKeyId: credentials.accessKeyId,
              secretAccessKey: credentials.secretAccessKey,
              ...(credentials.sessionToken === undefined ? {} : { sessionToken: credentials.sessionToken }),
            },
          }),
      maxAttempts: 2,
      requestHandler: { connectionTimeout: timeoutMs, requestTimeout: timeoutMs },
    });
    return new AwsKmsSource(options, client, sdk);
  }

  private get name(): string {
    return `AWS KMS key ${this.options.keyId}`;
  }

  async generate(context: WrapContext): Promise<WrappedDataKey & { dek: Buffer }> {
    const out = await this.send('GenerateDataKey', () =>
      this.client.send(
        new this.sdk.GenerateDataKeyCommand({
          KeyId: this.options.keyId,
          KeySpec: 'AES_256',
          EncryptionContext: encryptionContextOf(context),
        }),
      ),
    );
    if (!out.Plaintext || !out.CiphertextBlob || !out.KeyId)
      throw unavailable(this.name, 'GenerateDataKey answered without a key');
    this.keyArn = out.KeyId;
    return { version: out.KeyId, wrapped: Buffer.from(out.CiphertextBlob), dek: Buffer.from(out.Plaintext) };
  }

  async wrap(dek: Buffer, context: WrapContext): Promise<WrappedDataKey> {
    const out = await this.send('Encrypt', () =>
      this.client.send(
        new this.sdk.EncryptCommand({
          KeyId: this.options.keyId,
          Plaintext: dek,
          EncryptionContext: encryptionContextOf(context),
        }),
      ),
    );
    if (!out.CiphertextBlob || !out.KeyId)
      throw unavailable(this.name, 'Encrypt answered without a ciphertext');
    this.keyArn = out.KeyId;
    return { version: out.KeyId, wrapped: Buffer.from(out.CiphertextBlob) };
  }

  async unwrap(key: WrappedDataKey, context: WrapContext): Promise<Buffer> {
    if (!this.trusted.has(key.version) && key.version !== (await this.resolveKeyArn())) {
      throw new CoreError(
        'S3SEAL_KEY_VERSION_UNKNOWN',
        `the object's data key was wrapped by KMS key ${key.version}, which is neither key source ${this.id}'s key (${this.keyArn}) nor in its previous key ARNs; add it there if it is yours`,
      );
    }
    const out = await this.send('Decrypt', () =>
      this.client.send(
        new this.sdk.DecryptCommand({
          KeyId: key.version,
          CiphertextBlob: key.wrapped,
          EncryptionContext: encryptionContextOf(context),
        }),
      ),
    );
    const dek = out.Plaintext ? Buffer.from(out.Plaintext) : Buffer.alloc(0);
    if (dek.length !== 32) throw unwrapFailed(this.name);
    return dek;
  }

  isActiveVersion(version: string): boolean {
    return version === this.keyArn;
  }

  /** The key exists, is enabled and is a symmetric encryption key; resolves an alias to its ARN. */
  async check(): Promise<KeyManagerHealth> {
    try {
      const out = await this.client.send(new this.sdk.DescribeKeyCommand({ KeyId: this.options.keyId }));
      const meta = out.KeyMetadata;
      if (meta?.Arn) this.keyArn = meta.Arn;
      if (meta?.KeyState !== 'Enabled')
        return {
          ok: false,
          reason: 'KMSKeyDisabled',
          message: `KMS key ${meta?.Arn ?? this.options.keyId} is ${meta?.KeyState ?? 'in an unknown state'}`,
        };
      if (meta.KeyUsage !== 'ENCRYPT_DECRYPT' || (meta.KeySpec && meta.KeySpec !== 'SYMMETRIC_DEFAULT'))
        return {
          ok: false,
          reason: 'KMSKeyUnusable',
          message: `KMS key ${meta.Arn} is ${meta.KeySpec ?? '?'} for ${meta.KeyUsage ?? '?'}; data keys need a SYMMETRIC_DEFAULT ENCRYPT_DECRYPT key`,
        };
      return { ok: true, reason: 'KMSKeyUsable', message: `KMS key ${meta.Arn} is enabled` };
    } catch (err: unknown) {
      const name = (err as { name?: string }).name ?? '';
      if (name === 'NotFoundException')
        return { ok: false, reason: 'KMSKeyNotFound', message: `no KMS key ${this.options.keyId}` };
      if (REFUSALS.has(name))
        return { ok: false, reason: 'KMSAccessDenied', message: `${name}: ${(err as Error).message}` };
      return { ok: false, reason: 'KMSUnreachable', message: describeFailure(err) };
    }
  }

  close(): Promise<void> {
    this.client.destroy();
    return Promise.resolve();
  }

  private resolveKeyArn(): Promise<string | undefined> {
    if (this.keyArn !== undefined) return Promise.resolve(this.keyArn);
    this.resolving ??= this.send('DescribeKey', () =>
      this.client.send(new this.sdk.DescribeKeyCommand({ KeyId: this.options.keyId })),
    )
      .then((out) => {
        if (!out.KeyMetadata?.Arn) throw unavailable(this.name, 'DescribeKey answered without an ARN');
        this.keyArn = out.KeyMetadata.Arn;
        return this.keyArn;
      })
      .finally(() => (this.resolving = undefined));
    return this.resolving;
  }

  /** One KMS call, its failure typed by what the proxy should answer. */
  private async send<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err: unknown) {
      const name = (err as { name?: string }).name ?? '';
      if (UNWRAP_FAILURES.has(name)) throw unwrapFailed(this.name, err);
      if (REFUSALS.has(name))
        throw denied(this.name, `${operation}: ${name}: ${(err as Error).message}`, err);
      throw unavailable(this.name, `${operation}: ${describeFailure(err)}`, err);
    }
  }
}
