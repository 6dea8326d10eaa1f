// Lints an OpenAPI document with Redocly's `recommended` ruleset and prints the problems as
// JSON. A separate process: @redocly/openapi-core is ESM only, which Jest's CommonJS runtime
// cannot load.
import { createConfig, lint } from '@redocly/openapi-core';

const config = await createConfig({ extends: ['recommended'] });
const problems = await lint({ ref: process.argv[2], config });
process.stdout.write(
  JSON.stringify(
    problems.map((p) => ({
      severity: p.severity,
      rule: p.ruleId,
      message: p.message,
      at: p.location.map((l) => l.pointer),
    })),
  ),
);
