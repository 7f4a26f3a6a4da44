// Jest test environment for suites that start servers with @s3seal/testkit. It is jest-environment-node
// plus two things the rig cannot do from inside a test file's VM context:
// - a failed test or hook marks the file, so the rig keeps the servers' logs and prints where;
// - pids of servers still running when the file ends (no stop() in afterAll) or when the worker exits
//   are killed: `process.on('exit')` inside the VM context belongs to jest's copy of `process` and
//   never fires.
// Shares one object with packages/testkit/src/suite-state.ts through the test file's global.
import process from 'node:process';

import { TestEnvironment } from 'jest-environment-node';

const GLOBAL_KEY = '__s3sealRig';

export default class RigTestEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    this.testPath = context.testPath;
    this.rigState = { hasFailure: false, livePids: new Set() };
    this.global[GLOBAL_KEY] = this.rigState;
    this.killLive = () => killAll(this.rigState.livePids);
    process.on('exit', this.killLive);
  }

  handleTestEvent(event) {
    if (event.name === 'test_fn_failure' || event.name === 'hook_failure') {
      this.rigState.hasFailure = true;
    }
  }

  async teardown() {
    process.off('exit', this.killLive);
    const pids = [...this.rigState.livePids];
    if (pids.length > 0) {
      process.stderr.write(
        `s3seal rig: ${this.testPath} left server pids ${pids.join(', ')} running (no stop() in afterAll?); killing them\n`,
      );
      killAll(this.rigState.livePids);
    }
    await super.teardown();
  }
}

function killAll(pids) {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch (err) {
      if (err.code !== 'ESRCH') throw err;
    }
  }
  pids.clear();
}
