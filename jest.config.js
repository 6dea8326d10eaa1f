/** Three tiers: pure units beside the code, e2e against real PostgreSQL, and the long soak. */
const tsJest = { '^.+\\.ts$': 'ts-jest' };
const base = {
  moduleFileExtensions: ['js', 'json', 'ts'],
  transform: tsJest,
  testEnvironment: 'node',
};

module.exports = {
  // Real processes and a real database on a 2-core machine: generous per-test time. Jest reads
  // this option from the top level only; inside a project it is silently ignored.
  testTimeout: 30000,
  projects: [
    {
      ...base,
      displayName: 'unit',
      rootDir: '.',
      // client/ is a package of its own; its units run here so CI runs them with the rest.
      testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/client/src/**/*.spec.ts'],
    },
    {
      ...base,
      displayName: 'e2e',
      rootDir: '.',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
    {
      ...base,
      displayName: 'soak',
      rootDir: '.',
      testMatch: ['<rootDir>/test/**/*.soak-spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};
