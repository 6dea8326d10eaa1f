import { checkModuleMap, compareModuleMaps, documentedMap } from '../scripts/check-module-map';

/** docs/architecture.md's module map must describe the imports of src/ as they are. */
describe('module map (docs/architecture.md)', () => {
  it('matches the imports between the folders of src/', () => {
    expect(checkModuleMap()).toEqual([]);
  });

  it('reports every kind of disagreement', () => {
    const { map, problems } = documentedMap(
      '```module-map\nusers -> common, audit\nhealth ->\ngone -> users\nnot a line\n```\n',
    );
    const code = new Map([
      ['users', new Set(['common', 'config'])],
      ['health', new Set<string>()],
      ['metrics', new Set(['users'])],
    ]);
    expect([...problems, ...compareModuleMaps(map, code)]).toEqual([
      'unreadable line (want "module -> a, b"): not a line',
      'users imports config; the map omits it',
      'users -> audit is in the map; the code has no such import',
      'metrics is missing from the map: metrics -> users',
      'gone is in the map but src/gone does not exist',
    ]);
  });
});
