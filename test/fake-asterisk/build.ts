import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

/**
 * fake-asterisk.ts as the JavaScript `asterisk` beside this file runs: one node start per call,
 * no compiler. Named by the SHA-256 of fake-asterisk.ts and this file, as the wrapper computes
 * it, so an edited fake is never run from an older build. Transpiled only: the type check is
 * `npm run typecheck`'s job.
 */
const SOURCES = ['fake-asterisk.ts', 'build.ts'].map((name) => path.join(__dirname, name));
const CACHE = path.resolve(__dirname, '..', '..', 'node_modules', '.cache', 'fake-asterisk');

/** Compiles the fake unless this version is compiled already; returns the JavaScript's path. */
export function buildFakeAsterisk(): string {
  const hash = createHash('sha256');
  for (const file of SOURCES) hash.update(fs.readFileSync(file));
  const out = path.join(CACHE, `${hash.digest('hex')}.cjs`);
  if (fs.existsSync(out)) return out;
  const { outputText } = ts.transpileModule(fs.readFileSync(SOURCES[0], 'utf8'), {
    fileName: SOURCES[0],
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2023,
      strict: true,
    },
  });
  fs.mkdirSync(CACHE, { recursive: true });
  // Concurrent builds (parallel first calls) each write their own file; the rename is atomic.
  const tmp = `${out}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, outputText);
  fs.renameSync(tmp, out);
  return out;
}

if (require.main === module) process.stdout.write(`${buildFakeAsterisk()}\n`);
