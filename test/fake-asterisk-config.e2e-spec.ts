import { rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseDialplanShow, parsePjsipList } from '../src/asterisk/cli/cli-output-parsers';
import { renderEndpointsBody } from '../src/asterisk/generation/endpoints-generator';
import { withHeader } from '../src/asterisk/generation/file-header';
import { renderRoutingBody } from '../src/asterisk/generation/routing-generator';
import { SipAccountRow } from '../src/asterisk/generation/types';
import { cliFixtureBytes as fixture } from './fixtures';
import {
  CONTEXT,
  endpointsOf,
  FakeAsteriskBox,
  THREE_ENDPOINTS,
  THREE_ROUTING,
} from './support/fake-asterisk-box';

/** The fake `asterisk` reads pjsip.conf, extensions.conf and what they include as Asterisk does. */

jest.setTimeout(30_000);

describe('fake asterisk CLI: config files', () => {
  let box: FakeAsteriskBox;
  beforeEach(() => {
    box = new FakeAsteriskBox();
  });
  afterEach(() => box.remove());

  describe('loads config like Asterisk', () => {
    it('ignores the comment header the portal writes, and reports its lines', async () => {
      const info = { applyId: 'a1b2c3', generatedAt: new Date() };
      box.endpoints(withHeader(THREE_ENDPOINTS, info));
      box.routing(withHeader(THREE_ROUTING, info));
      await box.reload();
      expect(await box.out('pjsip show endpoints')).toBe(
        fixture('pjsip-show-endpoints.three.txt').toString(),
      );
      const shown = await box.out(`dialplan show ${CONTEXT}`);
      // Five header lines move every line number down by five.
      expect(shown).toBe(
        fixture('dialplan-show.three.txt')
          .toString()
          .replace(/conf:(\d)\]/g, (_m, n: string) => `conf:${Number(n) + 5}]`),
      );
    });

    it('loads no portal object without the include lines', async () => {
      box.pjsipConf('[global]\ntype=global\n');
      box.extensionsConf('[default]\nexten => 1,1,Answer()\n');
      box.endpoints(THREE_ENDPOINTS);
      box.routing(THREE_ROUTING);
      await box.reload();
      expect(await box.out('pjsip show endpoints')).toBe('No objects found.\n\n');
      expect(await box.out(`dialplan show ${CONTEXT}`)).toBe(
        fixture('dialplan-show.no-context.txt').toString(),
      );
    });

    it('keeps the old state when an #include target is missing, and is fine with #tryinclude', async () => {
      await box.loadThree();
      box.pjsipConf('#include pjsip.d/nowhere/*.conf\n#tryinclude pjsip.d/synergycall/*.conf\n');
      box.extensionsConf('#include extensions.d/missing.conf\n');
      box.endpoints(endpointsOf('1000'));
      box.routing('');
      await box.reload();
      expect(await box.ids('endpoints')).toEqual(['1000', '1001', '1002']);
      expect(
        parseDialplanShow(await box.out(`dialplan show ${CONTEXT}`), CONTEXT).extensions,
      ).toEqual(['1000', '1001', '1002']);

      box.pjsipConf('#tryinclude pjsip.d/nowhere/*.conf\n#tryinclude pjsip.d/synergycall/*.conf\n');
      await box.reload();
      expect(await box.ids('endpoints')).toEqual(['1000']);
    });

    it('drops objects that are no longer in the files', async () => {
      await box.loadThree();
      rmSync(box.endpointsFile);
      rmSync(box.routingFile);
      await box.reload();
      expect(await box.out('pjsip show aors')).toBe('No objects found.\n\n');
      expect(parseDialplanShow(await box.out(`dialplan show ${CONTEXT}`), CONTEXT).exists).toBe(
        false,
      );
    });

    it('never loads a dot-file temp, but does load any leftover *.conf', async () => {
      const dir = path.dirname(box.endpointsFile);
      writeFileSync(
        path.join(dir, '.generated_endpoints.conf.0a1b2c3d4e5f.tmp'),
        endpointsOf('1001'),
      );
      writeFileSync(path.join(dir, '.hidden.conf'), endpointsOf('1001'));
      box.endpoints(endpointsOf('1000'));
      await box.reload();
      expect(await box.ids('endpoints')).toEqual(['1000']);
      writeFileSync(path.join(dir, 'leftover.conf'), endpointsOf('1002'));
      await box.reload();
      expect(await box.ids('endpoints')).toEqual(['1000', '1002']);
    });

    it('retains an object that fails to load again, and leaves a new failing one out', async () => {
      await box.loadThree();
      box.endpoints(
        THREE_ENDPOINTS.replace(/(\[1001\]\ntype=aor\nmax_contacts=)1/, '$1abc').replace(
          'MD5:e6608906382bd24628545e96f5eade85',
          'MD5:short',
        ) + '\n[1004]\ntype=aor\nmax_contacts=one\n\n[1004-auth]\ntype=auth\nauth_type=plain\n',
      );
      await box.reload();
      // 1001's aor and auth were loaded before, so Asterisk keeps the old ones; 1004 is new.
      expect(await box.ids('aors')).toEqual(['1000', '1001', '1002']);
      expect(await box.ids('auths')).toEqual(['1000-auth', '1001-auth', '1002-auth']);
    });

    it('treats an unknown option or type as a failed object', async () => {
      box.endpoints(
        endpointsOf('1000', '1001').replace('direct_media=no', 'direct_medai=no') +
          '\n[1005]\ntype=endponit\ncontext=x\n\n[1006]\ntype=endpoint\nallow=notacodec\n',
      );
      await box.reload();
      expect(await box.ids('endpoints')).toEqual(['1001']);
    });

    it('loads 1,000 users (a 450 KB file) quickly', async () => {
      const rows: SipAccountRow[] = Array.from({ length: 1000 }, (_v, i) => ({
        extension: 1000 + i,
        name: `Üser Number ${i} (Sales & Support)`,
        sipUsername: String(1000 + i),
        realm: 'asterisk',
        md5Digest: (i % 16).toString(16).repeat(32),
        sha256Digest: (i % 16).toString(16).repeat(64),
      }));
      box.endpoints(renderEndpointsBody(rows, { context: CONTEXT, qualifySeconds: 60 }));
      box.routing(renderRoutingBody(rows, { context: CONTEXT }));
      expect(statSync(box.endpointsFile).size).toBeGreaterThan(400_000);
      const timings: Record<string, number> = {};
      for (const cmd of ['module reload res_pjsip.so', 'dialplan reload']) {
        const res = await box.run(cmd);
        expect(res.code).toBe(0);
        timings[cmd] = res.ms;
      }
      const ids = rows.map((r) => String(r.extension));
      for (const kind of ['endpoints', 'aors', 'auths'] as const) {
        const res = await box.run(`pjsip show ${kind}`);
        timings[kind] = res.ms;
        expect(parsePjsipList(res.stdout.toString(), kind).ids).toEqual(
          kind === 'auths' ? ids.map((id) => `${id}-auth`) : ids,
        );
      }
      const dp = parseDialplanShow(await box.out(`dialplan show ${CONTEXT}`), CONTEXT);
      expect([dp.extensionCount, dp.priorityCount]).toEqual([1000, 2000]);
      for (const ms of Object.values(timings)) expect(ms).toBeLessThan(3000);
    });
  });
});
