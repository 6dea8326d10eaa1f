import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * Compares the module map of docs/architecture.md (the fenced `module-map` block, one line per
 * module: `users -> audit, common, config`) with the imports of src/, where every top-level
 * folder is a module. Every relative import counts, `import type` and re-exports included;
 * *.spec.ts files and the files directly in src/ (the composition root) are left out.
 */
const ROOT = path.resolve(__dirname, '..');
const SRC = path.join(ROOT, 'src');
export const MAP_FILE = path.join(ROOT, 'docs', 'architecture.md');

export type ModuleMap = Map<string, Set<string>>;

function* sources(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) yield* sources(full);
    else if (/\.(ts|js|mjs|cjs)$/.test(name) && !name.endsWith('.spec.ts')) yield full;
  }
}

/** Module -> the other modules its files import, read from the code. */
export function codeMap(): ModuleMap {
  const map: ModuleMap = new Map();
  for (const module of readdirSync(SRC).filter((n) => statSync(path.join(SRC, n)).isDirectory())) {
    const uses = new Set<string>();
    for (const file of sources(path.join(SRC, module))) {
      for (const { fileName } of ts.preProcessFile(readFileSync(file, 'utf8'), true, true)
        .importedFiles) {
        if (!fileName.startsWith('.')) continue;
        const [target, ...rest] = path
          .relative(SRC, path.resolve(path.dirname(file), fileName))
          .split(path.sep);
        if (target !== '..' && rest.length > 0 && target !== module) uses.add(target);
      }
    }
    map.set(module, uses);
  }
  return map;
}

/** Module -> the modules the document says it imports; problems with the block itself. */
export function documentedMap(markdown: string): { map: ModuleMap; problems: string[] } {
  const block = /^```module-map\n([\s\S]*?)^```$/m.exec(markdown);
  if (!block) return { map: new Map(), problems: ['no ```module-map block found'] };
  const map: ModuleMap = new Map();
  const problems: string[] = [];
  for (const line of block[1].split('\n').filter((l) => l.trim())) {
    const m = /^\s*([\w-]+)\s*->\s*([\w-]+(?:\s*,\s*[\w-]+)*)?\s*$/.exec(line);
    if (!m) problems.push(`unreadable line (want "module -> a, b"): ${line}`);
    else if (map.has(m[1])) problems.push(`${m[1]} is listed twice`);
    else map.set(m[1], new Set(m[2] ? m[2].split(',').map((s) => s.trim()) : []));
  }
  return { map, problems };
}

/** Every way the document and the code disagree; empty when they agree. */
export function compareModuleMaps(documented: ModuleMap, code: ModuleMap): string[] {
  const out: string[] = [];
  for (const [module, uses] of code) {
    const said = documented.get(module);
    if (!said) {
      out.push(
        `${module} is missing from the map: ${module} -> ${[...uses].sort().join(', ')}`.trim(),
      );
      continue;
    }
    for (const u of [...uses].sort())
      if (!said.has(u)) out.push(`${module} imports ${u}; the map omits it`);
    for (const u of [...said].sort())
      if (!uses.has(u)) out.push(`${module} -> ${u} is in the map; the code has no such import`);
  }
  for (const module of documented.keys()) {
    if (!code.has(module)) out.push(`${module} is in the map but src/${module} does not exist`);
  }
  return out;
}

export function checkModuleMap(): string[] {
  const { map, problems } = documentedMap(readFileSync(MAP_FILE, 'utf8'));
  return [...problems, ...compareModuleMaps(map, codeMap())];
}

if (require.main === module) {
  const problems = checkModuleMap();
  if (problems.length) {
    process.stderr.write(
      `docs/architecture.md's module map differs from src/:\n${problems.join('\n')}\n`,
    );
    process.exit(1);
  }
  process.stdout.write('module map: docs/architecture.md matches the imports of src/\n');
}
