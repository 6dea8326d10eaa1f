import { mixedLoadSuite } from './support/mixed-load-suite';

mixedLoadSuite(
  'resilience: mixed load against the portal process (10 s)',
  'mixed load, e2e',
  10_000,
);
