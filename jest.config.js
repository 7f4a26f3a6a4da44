// One jest run, two projects: `unit` (fast, no servers) and `integration` (real MinIO,
// redis-server, etcd and kube-apiserver started by @s3seal/testkit). Tests run as native
// ES modules (node --experimental-vm-modules); @swc/jest strips types only.
const swc = [
  '@swc/jest',
  {
    jsc: { parser: { syntax: 'typescript' }, target: 'es2024' },
    module: { type: 'es6' },
    sourceMaps: 'inline',
  },
];

const shared = {
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc },
  // Tests import workspace packages from source, so `make test` needs no prior build.
  moduleNameMapper: {
    '^@s3seal/([a-z-]+)$': '<rootDir>/packages/$1/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testEnvironment: 'node',
};

export default {
  // A global option: jest ignores testTimeout inside a project. Integration tests start real
  // servers and drive real clients; unit tests finish in milliseconds either way.
  testTimeout: 120_000,
  projects: [
    {
      ...shared,
      displayName: 'unit',
      testMatch: ['<rootDir>/packages/*/src/**/*.test.ts'],
    },
    {
      ...shared,
      displayName: 'integration',
      testMatch: ['<rootDir>/packages/*/test/**/*.test.ts'],
      // Keeps server logs of failed files and kills any server a suite left running.
      testEnvironment: '<rootDir>/packages/testkit/jest-environment.js',
    },
  ],
};
