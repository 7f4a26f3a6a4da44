export { FORMAT_VERSION } from '@s3seal/core';
