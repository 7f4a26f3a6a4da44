// SigV4 verification and body checking: the only code in the proxy that reads Authorization,
// the X-Amz-* auth query parameters, x-amz-content-sha256, aws-chunked framing and checksums.
export { verifyRequest } from './verify-request.js';
export { createPayloadVerifier, PayloadVerifier } from './payload-verifier.js';
export type { PayloadVerification, PayloadVerifierOptions } from './payload-verifier.js';
export { declaredPlaintextLength } from './declared-length.js';
export { DEFAULT_MAX_CHUNK_BYTES } from './aws-chunked-decoder.js';
export { checksumHeaderName } from './checksums.js';
// The query decoding the signature was checked against ('+' is a space); the router should
// read the query with it too, so what is verified is what is executed.
export { parseQuery } from './canonical-request.js';
export type { QueryParam } from './canonical-request.js';
export type {
  ChecksumAlgorithm,
  CredentialStore,
  PayloadMode,
  RawRequest,
  SigningContext,
  VerifiedRequest,
  VerifyOptions,
} from './types.js';
