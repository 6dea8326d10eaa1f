import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { CLI_FIXTURES_DIR, cliFixtureBytes } from './fixtures';
import {
  CONTEXT,
  endpointsOf,
  FakeAsteriskBox,
  THREE_ENDPOINTS,
  THREE_ROUTING,
} from './support/fake-asterisk-box';

/**
 * The fake `asterisk` must answer like the real Asterisk 22.7.0 recorded in
 * test/fixtures/asterisk-22-cli: a difference is a bug in the fake. Every recorded output of a
 * command it models is compared here, byte for byte.
 */

jest.setTimeout(30_000);

// `pjsip show endpoint <id>` is not modelled (README.md beside the fake, "Commands").
const NOT_MODELLED = [
  'pjsip-show-endpoint.not-found.txt',
  'pjsip-show-endpoint.qualify-avail.txt',
  'pjsip-show-endpoint.qualify-unavail.txt',
  'pjsip-show-endpoint.registered-ua.txt',
];
/** Every recorded output of a command the fake models; each test below reads only these. */
const MODELLED = [
  'asterisk-down.stderr.txt',
  'core-show-version.txt',
  'dialplan-reload.ok.txt',
  'dialplan-show.broken-line.txt',
  'dialplan-show.no-context.txt',
  'dialplan-show.one.txt',
  'dialplan-show.three.txt',
  'module-reload-res_pjsip.in-progress.txt',
  'module-reload-res_pjsip.ok.txt',
  'no-such-command.txt',
  'pjsip-show-aor.long-uri.txt',
  'pjsip-show-aor.not-found.txt',
  'pjsip-show-aor.qualify-avail.txt',
  'pjsip-show-aor.qualify-unavail.txt',
  'pjsip-show-aor.registered-ua.txt',
  'pjsip-show-aor.unregistered.txt',
  'pjsip-show-aors.broken-aor.txt',
  'pjsip-show-aors.none.txt',
  'pjsip-show-aors.registered.txt',
  'pjsip-show-aors.three.txt',
  'pjsip-show-auths.none.txt',
  'pjsip-show-auths.three.txt',
  'pjsip-show-contact.expires-20.txt',
  'pjsip-show-contact.long-uri.txt',
  'pjsip-show-contact.not-found.txt',
  'pjsip-show-contact.qualify-avail.txt',
  'pjsip-show-contact.qualify-unavail.txt',
  'pjsip-show-contact.registered-ua.txt',
  'pjsip-show-contacts.long-uri.txt',
  'pjsip-show-contacts.none.txt',
  'pjsip-show-contacts.qualify-avail.txt',
  'pjsip-show-contacts.qualify-pending.txt',
  'pjsip-show-contacts.qualify-unavail.txt',
  'pjsip-show-contacts.registered.txt',
  'pjsip-show-contacts.two.txt',
  'pjsip-show-contacts.unregistered.txt',
  'pjsip-show-endpoints.broken-aor.txt',
  'pjsip-show-endpoints.none.txt',
  'pjsip-show-endpoints.one.txt',
  'pjsip-show-endpoints.qualify-avail.txt',
  'pjsip-show-endpoints.qualify-unavail.txt',
  'pjsip-show-endpoints.registered.txt',
  'pjsip-show-endpoints.three.txt',
];
function fixture(name: string): Buffer {
  if (!MODELLED.includes(name)) throw new Error(`${name} is not listed in MODELLED`);
  return cliFixtureBytes(name);
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

describe('fake asterisk CLI: the recorded outputs', () => {
  let box: FakeAsteriskBox;
  beforeEach(() => {
    box = new FakeAsteriskBox();
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

    it('core show version: the one recorded line', async () => {
      const res = await box.run('core show version');
      expect(res.stdout.equals(fixture('core-show-version.txt'))).toBe(true);
      expect({ code: res.code, stderr: res.stderr.length }).toEqual({ code: 0, stderr: 0 });
    });

    it('for an unknown command', async () => {
      const res = await box.run('pjsip frobnicate');
      expect(res.stdout.equals(fixture('no-such-command.txt'))).toBe(true);
      expect(res.code).toBe(0);
      expect(await box.out('foo bar')).toBe(
        "No such command 'foo bar' (type 'core show help foo' for other possible commands)\n",
      );
    });

    it('while a module reload is already in progress', async () => {
      box.endpoints(THREE_ENDPOINTS);
      box.faults({ reloadInProgress: 1 });
      const res = await box.run('module reload res_pjsip.so');
      expect(res.stdout.equals(fixture('module-reload-res_pjsip.in-progress.txt'))).toBe(true);
      expect({ code: res.code, stderr: res.stderr.length }).toEqual({ code: 0, stderr: 0 });
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

    it("a softphone's long Contact URI: cut in each listing's column, whole in the parameters", async () => {
      // The recording's aor: 1042 with qualify_frequency=60.
      box.endpoints(
        endpointsOf('1000')
          .replace(/1000/g, '1042')
          .replace(/^remove_existing=yes$/m, '$&\nqualify_frequency=60'),
      );
      await box.reload();
      const uri = 'sip:1042@127.0.0.1:5491;rinstance=8e9a6d3c7e0e2c3f';
      box.contacts([
        {
          aor: '1042',
          uri,
          expirationTime: 1796665798,
          userAgent: 'Z 5.6.1 v2.10.20.5',
          viaAddress: '127.0.0.1',
          viaPort: 5491,
          callId: '1-3169@127.0.0.1',
          qualifyFrequency: 60,
        },
      ]);
      const cut = `1042/${uri}`.slice(0, 46);
      await expectShows({
        'pjsip show contacts': 'pjsip-show-contacts.long-uri.txt',
        'pjsip show aor 1042': 'pjsip-show-aor.long-uri.txt',
        [`pjsip show contact 1042/${uri}`]: 'pjsip-show-contact.long-uri.txt',
        // The id quoted as Asterisk's CLI reads it (cli.c parse_args) is the same id.
        [`pjsip show contact "1042/${uri}"`]: 'pjsip-show-contact.long-uri.txt',
      });
      expect(await box.out(`pjsip show contact ${cut}`)).toBe(`Unable to find object ${cut}.\n\n`);
    });

    it('takes a quoted id with any character a phone may send, and lists several contacts of an aor', async () => {
      await box.loadThree();
      const odd = `sip:1000@127.0.0.1:5081;x=$(touch /tmp/x)'&"!*\\;y=a,b`;
      const ua = 'Zoë "phone" $(id) `id` & ; \\';
      box.contacts([phone(1000), phone(1000, { uri: odd, userAgent: ua })]);
      const quoted = `"1000/${odd.replace(/["\\]/g, '\\$&')}"`;
      const shown = await box.out(`pjsip show contact ${quoted}`);
      expect(shown).toContain(` uri                  : ${odd}\n`);
      expect(shown).toContain(` user_agent           : ${ua}\n`);
      // Unquoted, Asterisk would read only up to the space: the fake refuses rather than guess.
      expect((await box.run(`pjsip show contact 1000/${odd}`)).code).toBe(2);
      // One `contact` parameter line per contact, in the order of the stored ids (md5 of URI).
      const aor = await box.out('pjsip show aor 1000');
      const md5 = (s: string) => createHash('md5').update(s).digest('hex');
      const inOrder = [odd, phone(1000).uri].sort((a, b) => (md5(a) < md5(b) ? -1 : 1));
      expect(aor.match(/^ contact +: .*$/gm)).toEqual(
        inOrder.map((u) => ` contact              : ${u}`),
      );
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

  it('lists every recorded output as modelled or not modelled', () => {
    const recorded = readdirSync(CLI_FIXTURES_DIR).filter((name) => name.endsWith('.txt'));
    expect([...MODELLED, ...NOT_MODELLED].sort()).toEqual(recorded.sort());
  });
});
