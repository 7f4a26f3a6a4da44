/**
 * The bridge to packages/testkit/jest-environment.js. That environment runs outside the test's
 * VM context and puts this object on the test file's global: it records whether a test or hook
 * failed (so logs are kept) and kills the pids listed here when the worker exits or the file ends,
 * because `process.on('exit')` inside a jest VM context never fires.
 */
export interface RigSuiteState {
  hasFailure: boolean;
  livePids: Set<number>;
}

const GLOBAL_KEY = '__s3sealRig';

/** The state set by the jest environment, or undefined outside jest (the CLI) or with another environment. */
export function suiteState(): RigSuiteState | undefined {
  return (globalThis as { [GLOBAL_KEY]?: RigSuiteState })[GLOBAL_KEY];
}
