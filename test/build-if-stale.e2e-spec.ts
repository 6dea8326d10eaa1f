import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * `npm start`'s build step (scripts/build-if-stale.mjs) in a throw-away project whose
 * `nest build` is a stand-in that records each run, so what is rebuilt is seen without a compile.
 */
const SCRIPT = path.join(__dirname, '..', 'scripts', 'build-if-stale.mjs');

let project: string;

beforeEach(() => {
  project = fs.mkdtempSync(path.join(os.tmpdir(), 'portal-start-'));
  fs.mkdirSync(path.join(project, 'scripts'));
  fs.copyFileSync(SCRIPT, path.join(project, 'scripts', 'build-if-stale.mjs'));
  fs.mkdirSync(path.join(project, 'src', 'users'), { recursive: true });
  fs.writeFileSync(path.join(project, 'src', 'main.ts'), 'export {};\n');
  fs.writeFileSync(path.join(project, 'src', 'users', 'users.ts'), 'export const a = 1;\n');
  fs.writeFileSync(path.join(project, 'tsconfig.json'), '{}\n');
  fs.mkdirSync(path.join(project, 'node_modules', '.bin'), { recursive: true });
  // As nest build: dist/ deleted, then written; FAIL_BUILD makes it fail half-way.
  fs.writeFileSync(
    path.join(project, 'node_modules', '.bin', 'nest'),
    '#!/bin/sh\necho "$@" >> builds.log\nrm -rf dist\n[ -e FAIL_BUILD ] && exit 2\nmkdir -p dist/src && echo "// built" > dist/src/main.js\n',
    { mode: 0o755 },
  );
});

afterEach(() => fs.rmSync(project, { recursive: true, force: true }));

/** Runs the step; returns its exit code and how many builds have run so far. */
function start(): { status: number | null; builds: number } {
  const run = spawnSync(process.execPath, [path.join(project, 'scripts', 'build-if-stale.mjs')], {
    cwd: project,
    encoding: 'utf8',
  });
  const log = fs.existsSync(path.join(project, 'builds.log'))
    ? fs.readFileSync(path.join(project, 'builds.log'), 'utf8')
    : '';
  return { status: run.status, builds: log.split('\n').filter((l) => l === 'build').length };
}

/** Writes the file and moves its time on, as an editor saving a second later would. */
function edit(rel: string, content: string): void {
  const file = path.join(project, rel);
  fs.writeFileSync(file, content);
  const later = new Date(Date.now() + 5_000);
  fs.utimesSync(file, later, later);
}

describe('npm start builds only what changed', () => {
  it('builds once, then not again until a source is edited, added or deleted', () => {
    expect(start()).toEqual({ status: 0, builds: 1 });
    expect(start()).toEqual({ status: 0, builds: 1 });
    expect(start()).toEqual({ status: 0, builds: 1 });

    edit('src/users/users.ts', 'export const a = 2;\n');
    expect(start()).toEqual({ status: 0, builds: 2 });
    expect(start()).toEqual({ status: 0, builds: 2 });

    edit('src/users/new.ts', 'export const b = 1;\n');
    expect(start()).toEqual({ status: 0, builds: 3 });

    fs.rmSync(path.join(project, 'src', 'users', 'new.ts'));
    expect(start()).toEqual({ status: 0, builds: 4 });

    edit('tsconfig.json', '{ "compilerOptions": {} }\n');
    expect(start()).toEqual({ status: 0, builds: 5 });

    // A spec is not part of the build.
    edit('src/users/users.spec.ts', 'it.todo("x");\n');
    expect(start()).toEqual({ status: 0, builds: 5 });
  });

  it('builds again when dist/ is gone or the last build failed, and passes the failure on', () => {
    expect(start()).toEqual({ status: 0, builds: 1 });
    fs.rmSync(path.join(project, 'dist'), { recursive: true });
    expect(start()).toEqual({ status: 0, builds: 2 });

    fs.writeFileSync(path.join(project, 'FAIL_BUILD'), '');
    edit('src/main.ts', 'export const broken = true;\n');
    expect(start()).toEqual({ status: 2, builds: 3 });
    fs.rmSync(path.join(project, 'FAIL_BUILD'));
    expect(start()).toEqual({ status: 0, builds: 4 });
    expect(start()).toEqual({ status: 0, builds: 4 });
  });
});
