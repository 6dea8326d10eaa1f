// `npm start`'s build step: runs `nest build` unless dist/ was built from the sources as they
// are now, so a restart with unchanged sources costs no compile (nest build takes 8-10 s).
// Plain JavaScript, so that deciding costs a bare `node` start and no TypeScript loader.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Written into dist/ after a build, which nest build's deleteOutDir removes with the rest. */
const stamp = path.join(root, 'dist', '.sources.json');
const entry = path.join(root, 'dist', 'src', 'main.js');
/** What the build reads: tsconfig.build.json's sources and the build's own settings. */
const inputs = [
  'src',
  'migrations',
  'ormconfig.ts',
  'tsconfig.json',
  'tsconfig.build.json',
  'nest-cli.json',
  'package.json',
  'package-lock.json',
];

/**
 * [path, size:mtime] of every file under p, in a stable order (specs are not built).
 * @param {string} p
 * @returns {Generator<[string, string]>}
 */
function* files(p) {
  let stat;
  try {
    stat = fs.statSync(p);
  } catch {
    return;
  }
  if (stat.isDirectory()) {
    for (const name of fs.readdirSync(p).sort()) yield* files(path.join(p, name));
  } else if (!p.endsWith('.spec.ts')) {
    yield [path.relative(root, p), `${stat.size}:${stat.mtimeMs}`];
  }
}

// Every file with its size and time: an edit, an added file and a deleted one all differ.
const sources = JSON.stringify(inputs.flatMap((input) => [...files(path.join(root, input))]));
let built;
try {
  built = fs.readFileSync(stamp, 'utf8');
} catch {
  built = undefined;
}
if (built === sources && fs.existsSync(entry)) process.exit(0);

const nest = spawnSync(path.join(root, 'node_modules', '.bin', 'nest'), ['build'], {
  cwd: root,
  stdio: 'inherit',
});
if (nest.status !== 0) {
  if (nest.error) process.stderr.write(`nest build could not run: ${nest.error.message}\n`);
  process.exit(nest.status ?? 1);
}
// The sources as read before the build: one edited during it is built at the next start.
fs.writeFileSync(stamp, sources);
