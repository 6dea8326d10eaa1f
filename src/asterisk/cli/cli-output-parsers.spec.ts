import { readdirSync } from 'node:fs';
import {
  classifyCliFailure,
  DIALPLAN_RELOADED,
  parseCoreShowVersion,
  parseDialplanShow,
  parseEndpointListing,
  parsePjsipList,
  PJSIP_RELOADED,
  PjsipListKind,
  RELOAD_IN_PROGRESS,
} from './cli-output-parsers';
import { CLI_FIXTURES_DIR, cliFixture as fixture } from '../../../test/fixtures';

const CONTEXT = 'synergycall-internal';
const KINDS: PjsipListKind[] = ['endpoints', 'aors', 'auths'];

type Expectation =
  | { list: PjsipListKind; ids: string[] }
  | { dialplan: { exists: boolean; extensions: string[]; priorities: number } }
  | { failure: RegExp; stream: 'stdout' | 'stderr'; exitCode: number }
  | { success: string }
  | { notAListing: true };

/** What each recorded output means. Every file in the directory must be listed here. */
const FIXTURES: Record<string, Expectation> = {
  'asterisk-down.stderr.txt': {
    failure: /^Unable to connect to remote asterisk/,
    stream: 'stderr',
    exitCode: 1,
  },
  'dialplan-reload.ok.txt': { success: DIALPLAN_RELOADED },
  'module-reload-res_pjsip.ok.txt': { success: PJSIP_RELOADED },
  'module-reload-res_pjsip.in-progress.txt': {
    failure: /already in progress/,
    stream: 'stdout',
    exitCode: 0,
  },
  'no-such-command.txt': {
    failure: /^No such command 'pjsip frobnicate'/,
    stream: 'stdout',
    exitCode: 0,
  },
  'dialplan-show.no-context.txt': { dialplan: { exists: false, extensions: [], priorities: 0 } },
  'dialplan-show.one.txt': { dialplan: { exists: true, extensions: ['1000'], priorities: 2 } },
  'dialplan-show.three.txt': {
    dialplan: { exists: true, extensions: ['1000', '1001', '1002'], priorities: 6 },
  },
  'dialplan-show.broken-line.txt': {
    dialplan: { exists: true, extensions: ['1000', '1001', '1003'], priorities: 5 },
  },
  'pjsip-show-endpoints.none.txt': { list: 'endpoints', ids: [] },
  'pjsip-show-endpoints.one.txt': { list: 'endpoints', ids: ['1000'] },
  'pjsip-show-endpoints.three.txt': { list: 'endpoints', ids: ['1000', '1001', '1002'] },
  'pjsip-show-endpoints.registered.txt': { list: 'endpoints', ids: ['1000', '1001', '1002'] },
  'pjsip-show-endpoints.broken-aor.txt': { list: 'endpoints', ids: ['1000', '1001', '1003'] },
  'pjsip-show-aors.none.txt': { list: 'aors', ids: [] },
  'pjsip-show-aors.three.txt': { list: 'aors', ids: ['1000', '1001', '1002'] },
  'pjsip-show-aors.registered.txt': { list: 'aors', ids: ['1000', '1001', '1002'] },
  'pjsip-show-aors.broken-aor.txt': { list: 'aors', ids: ['1000', '1001'] },
  'pjsip-show-auths.none.txt': { list: 'auths', ids: [] },
  'pjsip-show-auths.three.txt': { list: 'auths', ids: ['1000-auth', '1001-auth', '1002-auth'] },
  'pjsip-show-contacts.none.txt': { list: 'endpoints', ids: [] },
  // A contacts listing is no listing of endpoints, aors or auths: its count must not match.
  'pjsip-show-contacts.registered.txt': { notAListing: true },
  'pjsip-show-endpoints.qualify-avail.txt': { list: 'endpoints', ids: ['1000', '1001', '1002'] },
  'pjsip-show-endpoints.qualify-unavail.txt': { list: 'endpoints', ids: ['1000', '1001', '1002'] },
  // Contact listings, single objects and "Unable to find object": none is a listing of ids.
  ...Object.fromEntries(
    [
      'pjsip-show-contacts.two.txt',
      'pjsip-show-contacts.unregistered.txt',
      'pjsip-show-contacts.qualify-avail.txt',
      'pjsip-show-contacts.qualify-pending.txt',
      'pjsip-show-contacts.qualify-unavail.txt',
      ...['registered-ua', 'qualify-avail', 'qualify-unavail', 'not-found'].flatMap((state) => [
        `pjsip-show-contact.${state}.txt`,
        `pjsip-show-aor.${state}.txt`,
        `pjsip-show-endpoint.${state}.txt`,
      ]),
      'pjsip-show-contact.expires-20.txt',
      'pjsip-show-aor.unregistered.txt',
      ...['contacts', 'contact', 'aor'].map((kind) => `pjsip-show-${kind}.long-uri.txt`),
      'core-show-version.txt',
    ].map((name) => [name, { notAListing: true } as const]),
  ),
  'three.generated_endpoints.conf': { notAListing: true },
  'three.generated_routing.conf': { notAListing: true },
  'README.md': { notAListing: true },
};

describe('CLI output parsers against the recorded Asterisk 22.7.0 output', () => {
  it('covers every file in the fixture directory', () => {
    expect(readdirSync(CLI_FIXTURES_DIR).sort()).toEqual(Object.keys(FIXTURES).sort());
  });

  describe.each(Object.entries(FIXTURES))('%s', (name, expected) => {
    const text = fixture(name);

    if ('list' in expected) {
      it(`lists ${JSON.stringify(expected.ids)}`, () => {
        expect(parsePjsipList(text, expected.list)).toEqual({
          ids: expected.ids,
          objectsFound: expected.ids.length,
        });
        expect(classifyCliFailure(text, '', 0)).toBeNull();
      });
      if (expected.ids.length > 0) {
        it('is rejected as a listing of another kind', () => {
          for (const kind of KINDS.filter((k) => k !== expected.list)) {
            expect(() => parsePjsipList(text, kind)).toThrow(/Objects found: \d+ but lists 0/);
          }
        });
      }
    }

    if ('dialplan' in expected) {
      it('gives the context, its extensions and the counts', () => {
        const { exists, extensions, priorities } = expected.dialplan;
        expect(parseDialplanShow(text, CONTEXT)).toEqual({
          exists,
          extensions,
          extensionCount: extensions.length,
          priorityCount: priorities,
        });
        expect(classifyCliFailure(text, '', 0)).toBeNull();
      });
    }

    if ('failure' in expected) {
      it('is classified as a failure and is no listing', () => {
        const [out, err] = expected.stream === 'stdout' ? [text, ''] : ['', text];
        expect(classifyCliFailure(out, err, expected.exitCode)).toMatch(expected.failure);
        for (const kind of KINDS) expect(() => parsePjsipList(out, kind)).toThrow();
        expect(() => parseDialplanShow(out, CONTEXT)).toThrow();
      });
    }

    if ('success' in expected) {
      it('is the success line and nothing else', () => {
        expect(text).toBe(`${expected.success}\n`);
        expect(classifyCliFailure(text, '', 0)).toBeNull();
      });
    }

    if ('notAListing' in expected) {
      it('is rejected by every parser', () => {
        for (const kind of KINDS) expect(() => parsePjsipList(text, kind)).toThrow();
        expect(() => parseDialplanShow(text, CONTEXT)).toThrow();
      });
    }
  });
});

describe('parsePjsipList', () => {
  const three = fixture('pjsip-show-endpoints.three.txt');

  it('does not count nested InAuth, Aor and Contact lines', () => {
    const registered = fixture('pjsip-show-endpoints.registered.txt');
    expect(registered).toMatch(/^ {8}Aor: {2}1000/m);
    expect(parsePjsipList(registered, 'endpoints').ids).toEqual(['1000', '1001', '1002']);
  });

  it('reads an endpoint without a caller ID', () => {
    expect(
      parsePjsipList(fixture('pjsip-show-endpoints.broken-aor.txt'), 'endpoints').ids,
    ).toContain('1003');
  });

  it('throws when the count disagrees with the objects listed (output cut short)', () => {
    const cut = three.replace(/ Endpoint: {2}1001\/1001[^]*?\n\n/, '');
    expect(cut).not.toContain('1001/1001');
    expect(() => parsePjsipList(cut, 'endpoints')).toThrow(/Objects found: 3 but lists 2/);
  });

  it('throws when the summary line is missing', () => {
    expect(() => parsePjsipList(three.replace('Objects found: 3', ''), 'endpoints')).toThrow(
      /Not a "pjsip show endpoints" listing/,
    );
  });

  it.each(['', '\n\n', 'Asterisk ending (0).\n', 'Command failed.\n'])(
    'throws on output that is no listing: %j',
    (output) => {
      expect(() => parsePjsipList(output, 'aors')).toThrow();
    },
  );

  it('throws when an id fills the whole column and may have been cut', () => {
    const long = 'x'.repeat(41);
    const aors = fixture('pjsip-show-aors.three.txt').replace(/Aor: {2}1000 {37}/, `Aor:  ${long}`);
    expect(() => parsePjsipList(aors, 'aors')).toThrow(/cut at 41/);
  });

  it('accepts CRLF line ends', () => {
    expect(parsePjsipList(three.replace(/\n/g, '\r\n'), 'endpoints').objectsFound).toBe(3);
  });
});

describe('parseEndpointListing', () => {
  it.each([
    ['none', [], [], []],
    ['one', ['1000'], ['1000'], ['1000-auth']],
    [
      'three',
      ['1000', '1001', '1002'],
      ['1000', '1001', '1002'],
      ['1000-auth', '1001-auth', '1002-auth'],
    ],
    [
      'registered',
      ['1000', '1001', '1002'],
      ['1000', '1001', '1002'],
      ['1000-auth', '1001-auth', '1002-auth'],
    ],
    // 1003's aor failed to load (max_contacts=abc): no Aor line under its endpoint.
    [
      'broken-aor',
      ['1000', '1001', '1003'],
      ['1000', '1001'],
      ['1000-auth', '1001-auth', '1003-auth'],
    ],
  ])('reads the loaded aors and auths under each endpoint (%s)', (state, ids, aors, auths) => {
    const listed = parseEndpointListing(fixture(`pjsip-show-endpoints.${state}.txt`));
    expect(listed).toEqual({ ids, objectsFound: ids.length, aors, auths });
  });

  it('agrees with the separate aor and auth listings of the same state', () => {
    for (const state of ['three', 'registered', 'broken-aor']) {
      const listed = parseEndpointListing(fixture(`pjsip-show-endpoints.${state}.txt`));
      expect(listed.aors).toEqual(
        parsePjsipList(fixture(`pjsip-show-aors.${state}.txt`), 'aors').ids,
      );
    }
    expect(parseEndpointListing(fixture('pjsip-show-endpoints.three.txt')).auths).toEqual(
      parsePjsipList(fixture('pjsip-show-auths.three.txt'), 'auths').ids,
    );
  });

  it('throws for what is not an endpoint listing', () => {
    expect(() => parseEndpointListing(fixture('pjsip-show-aors.three.txt'))).toThrow(
      /Objects found: 3 but lists 0/,
    );
  });
});

describe('parseDialplanShow', () => {
  const three = fixture('dialplan-show.three.txt');

  it('throws when the summary disagrees with the lines listed', () => {
    const cut = three.replace(/ {20}2\. Hangup\(\) +\[generated_routing\.conf:5\]\n/, '');
    expect(() => parseDialplanShow(cut, CONTEXT)).toThrow(/disagrees/);
  });

  it('throws when the summary line is missing', () => {
    expect(() => parseDialplanShow(three.split('-=')[0], CONTEXT)).toThrow(/no summary/);
  });

  it('throws for a listing or an absence of another context', () => {
    expect(() => parseDialplanShow(three, 'other')).toThrow(/other contexts/);
    const missing = fixture('dialplan-show.no-context.txt');
    expect(() => parseDialplanShow(missing, 'other')).toThrow(/Not a "dialplan show other"/);
  });

  it('counts a hint and labelled priorities', () => {
    const text =
      "[ Context 'c' created by 'pbx_config' ]\n" +
      "  '100' =>         hint: PJSIP/100                                [x.conf:1]\n" +
      '                    1. Dial(PJSIP/100)                            [x.conf:2]\n' +
      '     [done]         2. Hangup()                                   [x.conf:3]\n' +
      "  Include =>        'other'                                       [pbx_config]\n" +
      '\n' +
      '-= 1 extension (3 priorities) in 1 context. =-\n';
    expect(parseDialplanShow(text, 'c')).toEqual({
      exists: true,
      extensions: ['100'],
      extensionCount: 1,
      priorityCount: 3,
    });
  });
});

describe('classifyCliFailure', () => {
  it('flags a non-zero exit and a killed process', () => {
    expect(classifyCliFailure('', 'boom\nmore', 2)).toBe(
      'the Asterisk CLI exited with code 2: boom',
    );
    expect(classifyCliFailure('', '', 127)).toBe('the Asterisk CLI exited with code 127');
    expect(classifyCliFailure('', '', null)).toMatch(/killed/);
  });

  it('finds an unknown-command line anywhere in the output, but only at a line start', () => {
    const listing = fixture('pjsip-show-endpoints.three.txt');
    expect(classifyCliFailure(listing, '', 0)).toBeNull();
    expect(classifyCliFailure(`${listing}No such command 'x y' (see help)\r\nmore\n`, '', 0)).toBe(
      "No such command 'x y' (see help)",
    );
    expect(classifyCliFailure("Endpoint: No such command 'x'\n", '', 0)).toBeNull();
  });

  it('treats the down message as a failure even with exit code 0', () => {
    expect(classifyCliFailure('', fixture('asterisk-down.stderr.txt'), 0)).toMatch(/not running/);
  });

  it('names the in-progress answer so a caller can retry on it', () => {
    expect(classifyCliFailure(fixture('module-reload-res_pjsip.in-progress.txt'), '', 0)).toBe(
      RELOAD_IN_PROGRESS,
    );
  });

  it('ignores those words where a phone put them, inside a line (its User-Agent)', () => {
    const contact = fixture('pjsip-show-contact.long-uri.txt');
    for (const words of ['Unable to connect to remote asterisk', RELOAD_IN_PROGRESS]) {
      const hostile = contact.replace('Z 5.6.1 v2.10.20.5', words);
      expect(classifyCliFailure(hostile, '', 0)).toBeNull();
      expect(classifyCliFailure(`${words}\n`, '', 0)).not.toBeNull();
    }
  });

  it('returns null for ordinary answers', () => {
    expect(classifyCliFailure(fixture('pjsip-show-endpoints.none.txt'), '', 0)).toBeNull();
    expect(classifyCliFailure(fixture('dialplan-show.no-context.txt'), '', 0)).toBeNull();
  });
});

describe('parseCoreShowVersion', () => {
  it('reads the version of the recorded build', () => {
    expect(parseCoreShowVersion(fixture('core-show-version.txt'))).toBe('22.7.0');
    expect(classifyCliFailure(fixture('core-show-version.txt'), '', 0)).toBeNull();
  });

  it('reads other version strings as printed', () => {
    const line = (v: string) => `Asterisk ${v} built by root @ vm on a x86_64 running Linux\n`;
    expect(parseCoreShowVersion(line('certified-20.7-cert5'))).toBe('certified-20.7-cert5');
    expect(parseCoreShowVersion(`\r\n${line('GIT-master-8a1b2c3')}`)).toBe('GIT-master-8a1b2c3');
  });

  it.each([
    ['nothing', ''],
    ['an unknown command', fixture('no-such-command.txt')],
    ['a listing', fixture('pjsip-show-contacts.none.txt')],
    ['another line', 'Asterisk ending\n'],
  ])('throws on %s', (_what, text) => {
    expect(() => parseCoreShowVersion(text)).toThrow(/Not a "core show version" answer/);
  });
});
