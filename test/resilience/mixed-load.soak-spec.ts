import { mixedLoadSuite } from './support/mixed-load-suite';

mixedLoadSuite(
  'soak: mixed load against the portal process',
  'soak: mixed load',
  (Number(process.env.SOAK_SECONDS) || 60) * 1000,
);
