import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { cliFixtureBytes as fixture } from './fixtures';
import { FakeAsteriskBox, THREE_ENDPOINTS } from './support/fake-asterisk-box';

/** The fake `asterisk` as a program: its arguments, environment, exit codes and streams. */

jest.setTimeout(30_000);

const REPO = path.resolve(__dirname, '..');

describe('fake asterisk CLI: the command line', () => {
  let box: FakeAsteriskBox;
  beforeEach(() => {
    box = new FakeAsteriskBox();
  });
  afterEach(() => box.remove());

  describe('the command line', () => {
    it('passes the exit code, stderr and UTF-8 bytes through unchanged', async () => {
      const cmd = 'Grüße ✓ 命令';
      const res = await box.run(cmd);
      expect(res.code).toBe(0);
      const echoed = Buffer.from(`No such command '${cmd}' `);
      expect(res.stdout.subarray(0, echoed.length).equals(echoed)).toBe(true);
      box.faults({ down: true });
      const down = await box.run('pjsip show endpoints');
      expect(down.code).toBe(1);
      expect(down.stderr.equals(fixture('asterisk-down.stderr.txt'))).toBe(true);
      const unset = await box.run('pjsip show endpoints', { env: { FAKE_ASTERISK_ETC: '' } });
      expect(unset.code).toBe(2);
      expect(unset.stdout.length).toBe(0);
      expect(unset.stderr.toString()).toBe(
        'fake asterisk: FAKE_ASTERISK_ETC is not set (see test/fake-asterisk/README.md)\n',
      );
    });

    it("resolves relative FAKE_ASTERISK_ETC and _STATE against the caller's directory", async () => {
      box.endpoints(THREE_ENDPOINTS);
      const relative = {
        env: { FAKE_ASTERISK_ETC: 'etc', FAKE_ASTERISK_STATE: './state' },
        cwd: box.root,
      };
      const res = await box.run('module reload res_pjsip.so', relative);
      expect(res.stdout.toString()).toBe(fixture('module-reload-res_pjsip.ok.txt').toString());
      expect(await box.ids('endpoints')).toEqual(['1000', '1001', '1002']);
    });

    it('refuses loudly a configuration it does not model, instead of guessing', async () => {
      for (const text of ['[t](!)\ntype=aor\n', ';-- a block\ncomment --;\n']) {
        box.endpoints(text);
        const res = await box.run('module reload res_pjsip.so');
        expect(res.code).toBe(2);
        expect(res.stderr.toString()).toMatch(
          /^fake asterisk: .*generated_endpoints\.conf:1: .* not modelled/,
        );
      }
      expect(existsSync(box.lockFile)).toBe(false);
    });

    it('runs the fake as its source is now: an edited one is built before it runs', async () => {
      // A copy of the fake with a node_modules of its own, where its build lands.
      const dir = path.join(box.root, 'clone', 'test', 'fake-asterisk');
      const modules = path.join(box.root, 'clone', 'node_modules');
      mkdirSync(dir, { recursive: true });
      mkdirSync(modules);
      for (const pkg of ['ts-node', 'typescript'])
        symlinkSync(path.join(REPO, 'node_modules', pkg), path.join(modules, pkg));
      for (const name of ['asterisk', 'build.ts', 'fake-asterisk.ts'])
        copyFileSync(path.join(REPO, 'test', 'fake-asterisk', name), path.join(dir, name));
      const source = path.join(dir, 'fake-asterisk.ts');
      writeFileSync(source, readFileSync(source, 'utf8').replace('No objects found.', 'None.'));
      const res = await box.run('pjsip show aors', { cli: path.join(dir, 'asterisk') });
      const out = { code: res.code, stdout: res.stdout.toString(), stderr: res.stderr.toString() };
      expect(out).toEqual({ code: 0, stdout: 'None.\n\n', stderr: '' });
    }, 120_000); // one ts-node start, which a loaded machine makes slow
  });
});
