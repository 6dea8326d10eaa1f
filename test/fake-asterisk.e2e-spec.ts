import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDialplanShow, parsePjsipList } from '../src/asterisk/cli/cli-output-parsers';
import { renderEndpointsBody } from '../src/asterisk/generation/endpoints-generator';
import { withHeader } from '../src/asterisk/generation/file-header';
import { renderRoutingBody } from '../src/asterisk/generation/routing-generator';
import { SipAccountRow } from '../src/asterisk/generation/types';
import { cliFixtureBytes } from './fixtures';

/**
 * The fake `asterisk` must answer like the real Asterisk 22.7.0 recorded in
 * test/fixtures/asterisk-22-cli, failure modes included: a difference is a bug in the fake.
 */

jest.setTimeout(30_000);

const FAKE = path.resolve(__dirname, 'fake-asterisk', 'asterisk');
const CONTEXT = 'synergycall-internal';
const fixture = cliFixtureBytes;
const THREE_ENDPOINTS = fixture('three.generated_endpoints.conf').toString('utf8');
const THREE_ROUTING = fixture('three.generated_routing.conf').toString('utf8');

interface Run {
  stdout: Buffer;
  stderr: Buffer;
  code: number | null;
  killed: boolean;
  ms: number;
}

/** A throw-away /etc/asterisk and state directory for one test. */
class Sandbox {
  readonly root = mkdtempSync(path.join(os.tmpdir(), 'fake-asterisk-'));
  readonly etc = path.join(this.root, 'etc');
  readonly state = path.join(this.root, 'state');
  readonly endpointsFile = path.join(
    this.etc,
    'pjsip.d',
    'synergycall',
    'generated_endpoints.conf',
  );
  readonly routingFile = path.join(
    this.etc,
    'extensions.d',
    'synergycall',
    'generated_routing.conf',
  );

  constructor() {
    mkdirSync(path.dirname(this.endpointsFile), { recursive: true });
    mkdirSync(path.dirname(this.routingFile), { recursive: true });
    mkdirSync(this.state);
    this.pjsipConf('; end of pjsip.conf\n#tryinclude pjsip.d/synergycall/*.conf\n');
    this.extensionsConf('; end of extensions.conf\n#tryinclude extensions.d/synergycall/*.conf\n');
  }

  pjsipConf(text: string): void {
    writeFileSync(path.join(this.etc, 'pjsip.conf'), text);
  }

  extensionsConf(text: string): void {
    writeFileSync(path.join(this.etc, 'extensions.conf'), text);
  }

  endpoints(text: string): void {
    writeFileSync(this.endpointsFile, text);
  }

  routing(text: string): void {
    writeFileSync(this.routingFile, text);
  }

  faults(faults: Record<string, unknown>): void {
    writeFileSync(path.join(this.state, 'faults.json'), JSON.stringify(faults));
  }

  /** The registered phones (README.md beside the fake: contacts.json). */
  contacts(contacts: Record<string, unknown>[]): void {
    writeFileSync(path.join(this.state, 'contacts.json'), JSON.stringify(contacts));
  }

  readFaults(): Record<string, unknown> {
    return JSON.parse(readFileSync(path.join(this.state, 'faults.json'), 'utf8')) as Record<
      string,
      unknown
    >;
  }

  get lockFile(): string {
    return path.join(this.state, 'reload.lock');
  }

  /** Runs the fake as the portal does (execFile); `kill` resolving kills it as a timeout would. */
  run(
    command: string,
    options: { kill?: Promise<unknown>; env?: Record<string, string>; cwd?: string } = {},
  ): Promise<Run> {
    const started = performance.now();
    return new Promise((resolve) => {
      const child = execFile(
        FAKE,
        ['-rx', command],
        {
          encoding: 'buffer',
          cwd: options.cwd,
          env: {
            ...process.env,
            FAKE_ASTERISK_ETC: this.etc,
            FAKE_ASTERISK_STATE: this.state,
            ...options.env,
          },
        },
        (err, stdout, stderr) => {
          const e = err as (NodeJS.ErrnoException & { killed?: boolean; code?: unknown }) | null;
          resolve({
            stdout,
            stderr,
            code: e === null ? 0 : typeof e.code === 'number' ? e.code : null,
            killed: e?.killed === true,
            ms: performance.now() - started,
          });
        },
      );
      void options.kill?.then(() => child.kill('SIGKILL'));
    });
  }

  async out(command: string): Promise<string> {
    const res = await this.run(command);
    expect({ code: res.code, stderr: res.stderr.toString() }).toEqual({ code: 0, stderr: '' });
    return res.stdout.toString('utf8');
  }

  async reload(): Promise<void> {
    expect(await this.out('module reload res_pjsip.so')).toBe(
      fixture('module-reload-res_pjsip.ok.txt').toString(),
    );
    expect(await this.out('dialplan reload')).toBe(fixture('dialplan-reload.ok.txt').toString());
  }

  async loadThree(): Promise<void> {
    this.endpoints(THREE_ENDPOINTS);
    this.routing(THREE_ROUTING);
    await this.reload();
  }

  async ids(kind: 'endpoints' | 'aors' | 'auths'): Promise<string[]> {
    return parsePjsipList(await this.out(`pjsip show ${kind}`), kind).ids;
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** A fixture recorded with a registered phone, as the fake shows it: no phone registers there. */
function withoutRegisteredPhone(name: string): string {
  return fixture(name)
    .toString('utf8')
    .split('\n')
    .filter((l) => !/^ +Contact: {2}[^<]/.test(l))
    .join('\n')
    .replace(/Not in use {4}0 of inf/g, 'Unavailable   0 of inf');
}

/** The three users' file cut to the users listed, in the fixture's own bytes. */
function endpointsOf(...exts: string[]): string {
  const users = THREE_ENDPOINTS.trimEnd()
    .split(/\n\n(?=\[\d+\]\ntype=endpoint)/)
    .filter((u) => exts.includes(/^\[(\d+)\]/.exec(u)![1]));
  return `${users.join('\n\n')}\n`;
}

async function waitFor(check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await sleep(20);
  }
}

describe('fake asterisk CLI', () => {
  let box: Sandbox;
  beforeEach(() => {
    box = new Sandbox();
  });
  afterEach(() => box.remove());

  describe('prints what Asterisk 22.7.0 printed, byte for byte', () => {
    it('with nothing loaded', async () => {
      for (const kind of ['endpoints', 'aors', 'auths', 'contacts']) {
        const res = await box.run(`pjsip show ${kind}`);
        expect(res.stdout.equals(fixture(`pjsip-show-${kind}.none.txt`))).toBe(true);
        expect(res.code).toBe(0);
      }
      const dp = await box.run(`dialplan show ${CONTEXT}`);
      expect(dp.stdout.equals(fixture('dialplan-show.no-context.txt'))).toBe(true);
      expect(dp.code).toBe(0);
    });

    it('after loading the three users', async () => {
      box.endpoints(THREE_ENDPOINTS);
      box.routing(THREE_ROUTING);
      const pjsip = await box.run('module reload res_pjsip.so');
      expect(pjsip.stdout.equals(fixture('module-reload-res_pjsip.ok.txt'))).toBe(true);
      const dialplan = await box.run('dialplan reload');
      expect(dialplan.stdout.equals(fixture('dialplan-reload.ok.txt'))).toBe(true);

      const show = async (cmd: string) => (await box.run(cmd)).stdout;
      expect(
        (await show('pjsip show endpoints')).equals(fixture('pjsip-show-endpoints.three.txt')),
      ).toBe(true);
      expect((await show('pjsip show aors')).equals(fixture('pjsip-show-aors.three.txt'))).toBe(
        true,
      );
      expect((await show('pjsip show auths')).equals(fixture('pjsip-show-auths.three.txt'))).toBe(
        true,
      );
      expect(
        (await show('pjsip show contacts')).equals(fixture('pjsip-show-contacts.none.txt')),
      ).toBe(true);
      expect(
        (await show(`dialplan show ${CONTEXT}`)).equals(fixture('dialplan-show.three.txt')),
      ).toBe(true);
    });

    it('matches the registered-phone fixtures apart from the phone itself', async () => {
      await box.loadThree();
      expect(await box.out('pjsip show endpoints')).toBe(
        withoutRegisteredPhone('pjsip-show-endpoints.registered.txt'),
      );
      expect(await box.out('pjsip show aors')).toBe(
        withoutRegisteredPhone('pjsip-show-aors.registered.txt'),
      );
    });

    it('with the file cut to user 1000', async () => {
      box.endpoints(endpointsOf('1000'));
      box.routing(THREE_ROUTING.split('\n').slice(0, 3).join('\n') + '\n');
      await box.reload();
      expect(await box.out('pjsip show endpoints')).toBe(
        fixture('pjsip-show-endpoints.one.txt').toString(),
      );
      expect(await box.out(`dialplan show ${CONTEXT}`)).toBe(
        fixture('dialplan-show.one.txt').toString(),
      );
    });

    it('when 1002 is deleted and 1003 is added with max_contacts=abc and no callerid', async () => {
      await box.loadThree();
      const user1003 = endpointsOf('1000')
        .replace(/1000/g, '1003')
        .replace(/^callerid=.*\n/m, '')
        .replace('max_contacts=1', 'max_contacts=abc');
      box.endpoints(`${endpointsOf('1000', '1001')}\n${user1003}`);
      await box.reload();
      expect(await box.out('pjsip show endpoints')).toBe(
        withoutRegisteredPhone('pjsip-show-endpoints.broken-aor.txt'),
      );
      expect(await box.out('pjsip show aors')).toBe(
        withoutRegisteredPhone('pjsip-show-aors.broken-aor.txt'),
      );
      expect(await box.ids('auths')).toEqual(['1000-auth', '1001-auth', '1003-auth']);
    });

    it('when a dialplan line lacks its closing parenthesis', async () => {
      box.routing(
        THREE_ROUTING.split('\n').slice(0, 5).join('\n') + '\nexten => 1003,1,Dial(PJSIP/1003,30\n',
      );
      await box.reload();
      expect(await box.out(`dialplan show ${CONTEXT}`)).toBe(
        fixture('dialplan-show.broken-line.txt').toString(),
      );
    });

    it('for an unknown command', async () => {
      const res = await box.run('pjsip frobnicate');
      expect(res.stdout.equals(fixture('no-such-command.txt'))).toBe(true);
      expect(res.code).toBe(0);
      expect(await box.out('foo bar')).toBe(
        "No such command 'foo bar' (type 'core show help foo' for other possible commands)\n",
      );
    });
  });

  describe('registered phones, as Asterisk 22.7.0 printed them', () => {
    const YEALINK = 'Yealink SIP-T46S 66.86.0.15';
    /** The phones of the recordings: 1000 from port 5081, 1001 from 5082, 1002 from 5083. */
    const phone = (ext: number, extra: Record<string, unknown> = {}) => ({
      aor: String(ext),
      uri: `sip:${ext}@127.0.0.1:${ext + 4081}`,
      expirationTime: 1796113185,
      userAgent: YEALINK,
      viaAddress: '127.0.0.1',
      viaPort: ext + 4081,
      callId: '1-2315@127.0.0.1',
      ...extra,
    });
    const C1000 = '1000/sip:1000@127.0.0.1:5081';
    const text = (name: string) => fixture(name).toString('utf8');
    const expectShows = async (shown: Record<string, string>) => {
      for (const [command, name] of Object.entries(shown)) {
        expect({ command, out: await box.out(command) }).toEqual({ command, out: text(name) });
      }
    };

    it('a phone registered without qualify, then a second, then the first unregistered', async () => {
      await box.loadThree();
      box.contacts([phone(1000)]);
      await expectShows({
        'pjsip show contacts': 'pjsip-show-contacts.registered.txt',
        'pjsip show aors': 'pjsip-show-aors.registered.txt',
        'pjsip show endpoints': 'pjsip-show-endpoints.registered.txt',
        [`pjsip show contact ${C1000}`]: 'pjsip-show-contact.registered-ua.txt',
        'pjsip show aor 1000': 'pjsip-show-aor.registered-ua.txt',
      });
      box.contacts([phone(1001), phone(1000)]);
      await expectShows({ 'pjsip show contacts': 'pjsip-show-contacts.two.txt' });
      box.contacts([phone(1001)]);
      await expectShows({
        'pjsip show contacts': 'pjsip-show-contacts.unregistered.txt',
        'pjsip show aor 1000': 'pjsip-show-aor.unregistered.txt',
        [`pjsip show contact ${C1000}`]: 'pjsip-show-contact.not-found.txt',
        'pjsip show aor 9999': 'pjsip-show-aor.not-found.txt',
      });
      box.contacts([phone(1002, { expirationTime: 1796112987, callId: '1-2756@127.0.0.1' })]);
      await expectShows({
        'pjsip show contact 1002/sip:1002@127.0.0.1:5083': 'pjsip-show-contact.expires-20.txt',
      });
    });

    it('with qualify_frequency=30: Avail, then Unavail, and NonQual before the first OPTIONS', async () => {
      box.endpoints(THREE_ENDPOINTS.replace(/^remove_existing=yes$/gm, '$&\nqualify_frequency=30'));
      box.routing(THREE_ROUTING);
      await box.reload();
      const qualified = {
        callId: '1-5052@127.0.0.1',
        expirationTime: 1796113438,
        qualifyFrequency: 30,
      };
      for (const [state, extra] of [
        ['avail', { status: 'Avail', rttMs: 0.581 }],
        ['unavail', { status: 'Unavail' }],
      ] as const) {
        box.contacts([phone(1000, { ...qualified, ...extra })]);
        await expectShows({
          'pjsip show contacts': `pjsip-show-contacts.qualify-${state}.txt`,
          [`pjsip show contact ${C1000}`]: `pjsip-show-contact.qualify-${state}.txt`,
          'pjsip show aor 1000': `pjsip-show-aor.qualify-${state}.txt`,
          'pjsip show endpoints': `pjsip-show-endpoints.qualify-${state}.txt`,
        });
      }
      box.contacts([phone(1000, { status: 'Unavail' }), phone(1001, { status: 'NonQual' })]);
      await expectShows({ 'pjsip show contacts': 'pjsip-show-contacts.qualify-pending.txt' });
    });

    it('lists a contact past its expiry, and after its aor is gone, until it is taken out', async () => {
      await box.loadThree();
      const past = Math.floor(Date.now() / 1000) - 10;
      box.contacts([phone(1000, { expirationTime: past }), phone(1002)]);
      box.endpoints(endpointsOf('1000', '1001'));
      await box.reload();
      const listed = await box.out('pjsip show contacts');
      expect(listed).toContain(`  Contact:  ${C1000} `);
      expect(listed).toContain('  Contact:  1002/sip:1002@127.0.0.1:5083 ');
      expect(await box.out(`pjsip show contact ${C1000}`)).toContain(
        ` expiration_time      : ${past}\n`,
      );
      expect(await box.out('pjsip show aor 1002')).toBe('Unable to find object 1002.\n\n');
      expect(await box.out('pjsip show endpoints')).not.toContain('1002');
      expect(await box.out('pjsip show aors')).not.toContain('1002');
    });

    it('refuses a contacts.json it does not understand, and is down like any command', async () => {
      await box.loadThree();
      box.contacts([{ aor: '1000', uri: 'sip:x', expirationTime: 1, status: 'Busy' }]);
      const bad = await box.run('pjsip show contacts');
      expect({ code: bad.code, stderr: bad.stderr.toString() }).toEqual({
        code: 2,
        stderr:
          'fake asterisk: contact 1000/sip:x: status must be one of Avail, Unavail, NonQual, Unknown\n',
      });
      box.contacts([phone(1000)]);
      box.faults({ down: true });
      for (const command of [
        'pjsip show contacts',
        `pjsip show contact ${C1000}`,
        'pjsip show aor 1000',
      ]) {
        const res = await box.run(command);
        expect({ code: res.code, stdout: res.stdout.toString(), stderr: res.stderr }).toEqual({
          code: 1,
          stdout: '',
          stderr: fixture('asterisk-down.stderr.txt'),
        });
      }
    });
  });

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
  });
});
