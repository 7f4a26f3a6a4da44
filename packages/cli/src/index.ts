export { writeNewKeyring, rotateKeyring } from './commands/keygen.js';
export { verifyPrefix } from './commands/verify.js';
export { rewrapPrefix } from './commands/rewrap.js';
export { encryptLegacyPrefix } from './commands/encrypt-legacy.js';
export { inspectObject } from './objects/inspect-object.js';
export type { InspectReport } from './objects/inspect-object.js';
export type { BulkSummary } from './bulk/summary.js';
