import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseDialplanShow } from '../src/asterisk/cli/cli-output-parsers';
import { cliFixtureBytes as fixture } from './fixtures';
import {
  CONTEXT,
  FakeAsteriskBox,
  THREE_ENDPOINTS,
  THREE_ROUTING,
  waitFor,
} from './support/fake-asterisk-box';

/** The faults a test sets in the fake `asterisk` (faults.json), and its reload lock. */

jest.setTimeout(30_000);

describe('fake asterisk CLI: faults', () => {
  let box: FakeAsteriskBox;
  beforeEach(() => {
    box = new FakeAsteriskBox();
  });
  afterEach(() => box.remove());

  describe('faults', () => {
    it('down: every command fails on stderr with exit 1 and nothing changes', async () => {
      box.endpoints(THREE_ENDPOINTS);
      box.faults({ down: true });
      for (const cmd of [
        'module reload res_pjsip.so',
        'dialplan reload',
        'pjsip show endpoints',
        'x',
      ]) {
        const res = await box.run(cmd);
        expect(res.code).toBe(1);
        expect(res.stdout.length).toBe(0);
        expect(res.stderr.equals(fixture('asterisk-down.stderr.txt'))).toBe(true);
      }
      box.faults({});
      expect(await box.out('pjsip show endpoints')).toBe('No objects found.\n\n');
    });

    it('reloadInProgress: the next N module reloads are refused without reloading', async () => {
      box.endpoints(THREE_ENDPOINTS);
      box.faults({ reloadInProgress: 2, dropExtensions: [] });
      const inProgress = fixture('module-reload-res_pjsip.in-progress.txt');
      for (const left of [1, 0]) {
        const res = await box.run('module reload res_pjsip.so');
        expect(res.stdout.equals(inProgress)).toBe(true);
        expect(res.code).toBe(0);
        expect(box.readFaults()).toEqual({ reloadInProgress: left, dropExtensions: [] });
      }
      expect(await box.out('pjsip show endpoints')).toBe('No objects found.\n\n');
      await box.reload();
      expect(await box.ids('endpoints')).toEqual(['1000', '1001', '1002']);
    });

    it('a reload that is running holds the lock: a second one is refused at once', async () => {
      box.endpoints(THREE_ENDPOINTS);
      box.faults({ delayMs: { 'module reload res_pjsip.so': 1500 } });
      const first = box.run('module reload res_pjsip.so');
      await waitFor(() => existsSync(box.lockFile), 2000);
      const second = await box.run('module reload res_pjsip.so');
      expect(second.stdout.toString()).toBe(
        fixture('module-reload-res_pjsip.in-progress.txt').toString(),
      );
      expect(second.ms).toBeLessThan(1000);
      expect(await box.out('pjsip show endpoints')).toBe('No objects found.\n\n');
      const done = await first;
      expect(done.stdout.toString()).toBe(fixture('module-reload-res_pjsip.ok.txt').toString());
      expect(done.ms).toBeGreaterThanOrEqual(1500);
      expect(existsSync(box.lockFile)).toBe(false);
      expect(await box.ids('endpoints')).toEqual(['1000', '1001', '1002']);
    });

    it('delayMs: the command answers late', async () => {
      await box.loadThree();
      box.faults({ delayMs: { 'pjsip show endpoints': 700 } });
      const res = await box.run('pjsip show endpoints');
      expect(res.ms).toBeGreaterThanOrEqual(700);
      expect(res.stdout.equals(fixture('pjsip-show-endpoints.three.txt'))).toBe(true);
      expect((await box.run('pjsip show aors')).ms).toBeLessThan(700);
    });

    it('a reload whose client timed out still completes, as on the real server', async () => {
      box.endpoints(THREE_ENDPOINTS);
      box.faults({ delayMs: { 'module reload res_pjsip.so': 1200 } });
      const tmp = path.join(box.root, 'tmp');
      mkdirSync(tmp);
      // Killed once the reload runs, as the portal's timeout kills it.
      const res = await box.run('module reload res_pjsip.so', {
        kill: waitFor(() => existsSync(box.lockFile), 5000),
        env: { TMPDIR: tmp },
      });
      expect(res.killed).toBe(true);
      expect(res.ms).toBeLessThan(1000);
      expect((await box.run('module reload res_pjsip.so')).stdout.toString()).toMatch(
        /already in progress/,
      );
      expect(await box.out('pjsip show endpoints')).toBe('No objects found.\n\n');
      await waitFor(() => !existsSync(box.lockFile), 5000);
      expect(await box.ids('endpoints')).toEqual(['1000', '1001', '1002']);
      expect(readdirSync(tmp)).toEqual([]); // its output went to temp files, deleted from the start
    });

    it('rejectObjects: a new object is missing, a loaded one is retained', async () => {
      box.endpoints(THREE_ENDPOINTS);
      box.faults({ rejectObjects: ['1002'] });
      await box.reload();
      expect(await box.ids('endpoints')).toEqual(['1000', '1001']);
      expect(await box.ids('aors')).toEqual(['1000', '1001']);
      expect(await box.ids('auths')).toEqual(['1000-auth', '1001-auth', '1002-auth']);

      box.faults({ rejectObjects: ['1001'] });
      box.endpoints(THREE_ENDPOINTS.replace(`"Bob O'Neil" <1001>`, '"Bob" <5551>'));
      await box.reload();
      expect(await box.out('pjsip show endpoints')).toMatch(/^ Endpoint: {2}1001\/1001 /m);
      expect(await box.ids('endpoints')).toEqual(['1000', '1001', '1002']);

      box.faults({});
      await box.reload();
      expect(await box.out('pjsip show endpoints')).toMatch(/^ Endpoint: {2}1001\/5551 /m);
    });

    it('dropExtensions: those extensions vanish from the dialplan', async () => {
      box.routing(THREE_ROUTING);
      box.faults({ dropExtensions: ['1001'] });
      await box.reload();
      const out = await box.out(`dialplan show ${CONTEXT}`);
      expect(parseDialplanShow(out, CONTEXT)).toEqual({
        exists: true,
        extensions: ['1000', '1002'],
        extensionCount: 2,
        priorityCount: 4,
      });
      expect(out).toMatch(/^-= 2 extensions \(4 priorities\) in 1 context\. =-$/m);
    });

    it('a delayed command stops waiting when its state directory is deleted', async () => {
      box.faults({ delayMs: { 'module reload res_pjsip.so': 60_000 } });
      const waiting = box.run('module reload res_pjsip.so');
      await waitFor(() => existsSync(box.lockFile), 5000);
      box.remove();
      const res = await waiting;
      expect({ code: res.code, stdout: res.stdout.length, stderr: res.stderr.length }).toEqual({
        code: 1,
        stdout: 0,
        stderr: 0,
      });
    });

    it('a delayed command answers once its delay is taken out of faults.json', async () => {
      box.endpoints(THREE_ENDPOINTS);
      // Longer than the test's timeout: only the removal can let it answer.
      box.faults({ delayMs: { 'module reload res_pjsip.so': 60_000 } });
      const waiting = box.run('module reload res_pjsip.so');
      await waitFor(() => existsSync(box.lockFile), 5000);
      box.faults({ delayMs: {} });
      const res = await waiting;
      expect(res.stdout.toString()).toBe(fixture('module-reload-res_pjsip.ok.txt').toString());
      expect(existsSync(box.lockFile)).toBe(false);
      expect(await box.ids('endpoints')).toEqual(['1000', '1001', '1002']);
    });

    it('refuses a faults.json it does not understand, loudly', async () => {
      box.faults({ donw: true });
      const res = await box.run('pjsip show endpoints');
      expect(res.code).toBe(2);
      expect(res.stderr.toString()).toMatch(/unknown key "donw"/);
    });
  });
});
