import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * Fails when a file under src, test, bench or scripts names the workplace's shared folder or
 * a path outside the repository: a fresh clone anywhere must test itself with what it holds.
 * Relative paths are resolved from the file's own folder, in both spellings the code uses:
 * '../../x' and path.resolve(__dirname, '..', '..').
 */
const ROOT = path.resolve(__dirname, '..');
const FOLDERS = ['src', 'test', 'bench', 'scripts'];
const SOURCE = /\.(ts|js|mjs|cjs|json|sh)$|^[^.]+$/;
const NAMED_OUTSIDE: { pattern: RegExp; why: string }[] = [
  { pattern: /(\.\.\/|['"`/])shared(\/|['"`])/, why: 'names the shared folder' },
  { pattern: /\/work\//, why: 'names an absolute path of this workplace' },
];
// A run of '..' segments, joined by slashes or given as separate string arguments.
const UP_SLASHED = /['"`]((?:\.\.\/)*\.\.)(?:\/[^'"`]*)?['"`]/g;
const UP_ARGS = /__dirname((?:\s*,\s*['"`]\.\.['"`])+)/g;

function* files(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    // This file spells the patterns it looks for.
    if (name === 'node_modules' || full === __filename) continue;
    if (statSync(full).isDirectory()) yield* files(full);
    else if (SOURCE.test(name)) yield full;
  }
}

function escapes(file: string, ups: number): boolean {
  const target = path.resolve(path.dirname(file), ...Array<string>(ups).fill('..'));
  return path.relative(ROOT, target).startsWith('..');
}

const problems: string[] = [];
for (const folder of FOLDERS) {
  for (const file of files(path.join(ROOT, folder))) {
    const rel = path.relative(ROOT, file);
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        const where = `${rel}:${i + 1}`;
        for (const { pattern, why } of NAMED_OUTSIDE) {
          if (pattern.test(line)) problems.push(`${where} ${why}: ${line.trim()}`);
        }
        for (const m of line.matchAll(UP_SLASHED)) {
          if (escapes(file, m[1].split('/').length))
            problems.push(`${where} reaches outside the repository: ${m[0]}`);
        }
        for (const m of line.matchAll(UP_ARGS)) {
          if (escapes(file, m[1].split(',').length - 1))
            problems.push(`${where} reaches outside the repository: ${m[0]}`);
        }
      });
  }
}

if (problems.length) {
  process.stderr.write(`${problems.join('\n')}\n`);
  process.exit(1);
}
process.stdout.write('self-contained: no file under src, test, bench or scripts reads outside\n');
