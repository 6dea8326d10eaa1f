import { readdirSync } from 'node:fs';
import {
  contactHash,
  ContactLine,
  parseAorShow,
  parseContactListing,
  parseContactShow,
  wholeUriOf,
} from './contact-parsers';
import { CLI_FIXTURES_DIR, cliFixture as fixture } from '../../../test/fixtures';

const C1000 = '1000/sip:1000@127.0.0.1:5081';
const C1001 = '1001/sip:1001@127.0.0.1:5082';
const C1002 = '1002/sip:1002@127.0.0.1:5083';

const C1042 = '1042/sip:1042@127.0.0.1:5491;rinstance=8e9a6d3c7e0e2c3f';
/** How `pjsip show contacts` cuts that id: the 46 characters of its column. */
const C1042_CUT = C1042.slice(0, 46);

const line = (id: string, status: string, rttMs: number | null, hash?: string) => ({
  id,
  aor: id.split('/')[0],
  uri: id.slice(id.indexOf('/') + 1),
  status,
  rttMs,
  hash: hash ?? contactHash(id.slice(id.indexOf('/') + 1)),
  cut: false,
});

/** Every recorded `pjsip show contacts` and what it lists. */
const LISTINGS: Record<string, ReturnType<typeof line>[]> = {
  'pjsip-show-contacts.none.txt': [],
  'pjsip-show-contacts.registered.txt': [line(C1000, 'NonQual', null)],
  'pjsip-show-contacts.two.txt': [line(C1000, 'NonQual', null), line(C1001, 'NonQual', null)],
  'pjsip-show-contacts.unregistered.txt': [line(C1001, 'NonQual', null)],
  'pjsip-show-contacts.qualify-avail.txt': [line(C1000, 'Avail', 0.581)],
  'pjsip-show-contacts.qualify-unavail.txt': [line(C1000, 'Unavail', null)],
  'pjsip-show-contacts.qualify-pending.txt': [
    line(C1000, 'Unavail', null),
    line(C1001, 'NonQual', null),
  ],
  'pjsip-show-contacts.long-uri.txt': [
    { ...line(C1042_CUT, 'NonQual', null, contactHash(C1042.slice(5))), cut: true },
  ],
};

const YEALINK = 'Yealink SIP-T46S 66.86.0.15';
/** Every recorded `pjsip show contact <id>` and what it shows. */
const DETAILS: Record<string, { id: string; detail: object | null }> = {
  'pjsip-show-contact.registered-ua.txt': {
    id: C1000,
    detail: {
      ...line(C1000, 'NonQual', null),
      userAgent: YEALINK,
      expirationTime: 1796113185,
      viaAddress: '127.0.0.1',
      viaPort: 5081,
      endpoint: '1000',
    },
  },
  'pjsip-show-contact.expires-20.txt': {
    id: C1002,
    detail: {
      ...line(C1002, 'NonQual', null),
      userAgent: YEALINK,
      expirationTime: 1796112987,
      viaAddress: '127.0.0.1',
      viaPort: 5083,
      endpoint: '1002',
    },
  },
  'pjsip-show-contact.qualify-avail.txt': {
    id: C1000,
    detail: {
      ...line(C1000, 'Avail', 0.581),
      userAgent: YEALINK,
      expirationTime: 1796113438,
      viaAddress: '127.0.0.1',
      viaPort: 5081,
      endpoint: '1000',
    },
  },
  'pjsip-show-contact.qualify-unavail.txt': {
    id: C1000,
    detail: {
      ...line(C1000, 'Unavail', null),
      userAgent: YEALINK,
      expirationTime: 1796113438,
      viaAddress: '127.0.0.1',
      viaPort: 5081,
      endpoint: '1000',
    },
  },
  'pjsip-show-contact.not-found.txt': { id: C1000, detail: null },
  // Its contact line is cut like the listing's; the id asked and the `uri` line are whole.
  'pjsip-show-contact.long-uri.txt': {
    id: C1042,
    detail: {
      ...line(C1042, 'NonQual', null),
      userAgent: 'Z 5.6.1 v2.10.20.5',
      expirationTime: 1796665798,
      viaAddress: '127.0.0.1',
      viaPort: 5491,
      endpoint: '1042',
    },
  },
};

describe('parseContactListing', () => {
  it('has an expectation for every recorded contacts listing', () => {
    const recorded = readdirSync(CLI_FIXTURES_DIR).filter((n) =>
      n.startsWith('pjsip-show-contacts.'),
    );
    expect(recorded.sort()).toEqual(Object.keys(LISTINGS).sort());
  });

  it.each(Object.entries(LISTINGS))('reads %s', (name, contacts) => {
    expect(parseContactListing(fixture(name))).toEqual(contacts);
  });

  it('throws when the count disagrees with the lines (output cut short)', () => {
    const cut = fixture('pjsip-show-contacts.two.txt').replace(/^ {2}Contact: {2}1001.*\n/m, '');
    expect(() => parseContactListing(cut)).toThrow(/Objects found: 2 but lists 1/);
  });

  it.each([
    ['', /Not a "pjsip show contacts"/],
    [fixture('pjsip-show-aor.not-found.txt'), /Not a "pjsip show contacts"/],
    [fixture('no-such-command.txt'), /Not a "pjsip show contacts"/],
    // An aors listing has a count but no top-level Contact lines.
    [fixture('pjsip-show-aors.three.txt'), /Objects found: 3 but lists 0/],
  ])('throws on what is no contacts listing (%#)', (text, error) => {
    expect(() => parseContactListing(text)).toThrow(error);
  });

  it('throws on a status it does not know rather than guess', () => {
    const odd = fixture('pjsip-show-contacts.registered.txt').replace('NonQual', 'Wobbly ');
    expect(() => parseContactListing(odd)).toThrow(/Unknown contact status "Wobbly"/);
  });

  it('marks an id that fills its column as possibly cut', () => {
    const long = `1000/sip:1000@${'a'.repeat(27)}:5081`;
    expect(long).toHaveLength(46);
    const text = fixture('pjsip-show-contacts.registered.txt').replace(
      `${C1000}${' '.repeat(18)}`,
      long,
    );
    expect(parseContactListing(text)).toEqual([
      { ...line(long, 'NonQual', null, '96c4cf3a8b'), cut: true },
    ]);
  });

  it('accepts CRLF line ends', () => {
    const crlf = fixture('pjsip-show-contacts.two.txt').replace(/\n/g, '\r\n');
    expect(parseContactListing(crlf)).toHaveLength(2);
  });
});

describe('parseContactShow', () => {
  it.each(Object.entries(DETAILS))('reads %s', (name, { id, detail }) => {
    expect(parseContactShow(fixture(name), id)).toEqual(detail);
  });

  it('throws when the answer is about another contact', () => {
    expect(() => parseContactShow(fixture('pjsip-show-contact.registered-ua.txt'), C1001)).toThrow(
      /Not a "pjsip show contact 1001/,
    );
  });

  it('throws on a listing of several contacts or an aor', () => {
    expect(() => parseContactShow(fixture('pjsip-show-contacts.two.txt'), C1000)).toThrow();
    expect(() => parseContactShow(fixture('pjsip-show-aor.qualify-avail.txt'), C1000)).toThrow();
  });

  it('reads the not-found answer only for the id asked', () => {
    expect(() => parseContactShow(fixture('pjsip-show-contact.not-found.txt'), C1001)).toThrow();
    expect(parseContactShow('Unable to find object 9999.\n\n', '9999')).toBeNull();
  });

  it('refuses a cut id, which Asterisk does not find, and an answer about a longer uri', () => {
    expect(() => parseContactShow(fixture('pjsip-show-contact.long-uri.txt'), C1042_CUT)).toThrow(
      /shows another uri/,
    );
    expect(parseContactShow(`Unable to find object ${C1042_CUT}.\n\n`, C1042_CUT)).toBeNull();
  });

  it('leaves a missing user agent null', () => {
    const text = fixture('pjsip-show-contact.registered-ua.txt').replace(
      `user_agent           : ${YEALINK}`,
      'user_agent           : ',
    );
    expect(parseContactShow(text, C1000)).toMatchObject({ userAgent: null, viaPort: 5081 });
  });
});

describe('parseAorShow', () => {
  const SIP1000 = 'sip:1000@127.0.0.1:5081';
  it.each([
    ['pjsip-show-aor.registered-ua.txt', '1000', [SIP1000]],
    ['pjsip-show-aor.qualify-avail.txt', '1000', [SIP1000]],
    ['pjsip-show-aor.qualify-unavail.txt', '1000', [SIP1000]],
    ['pjsip-show-aor.unregistered.txt', '1000', []],
    // Its Contact line is cut (44 characters at this indent); the parameter is whole.
    ['pjsip-show-aor.long-uri.txt', '1042', [C1042.slice(5)]],
  ])('reads %s', (name, aor, contactUris) => {
    expect(parseAorShow(fixture(name), aor)).toEqual({ aor, maxContacts: 1, contactUris });
  });

  it('answers null for an aor Asterisk does not have', () => {
    expect(parseAorShow(fixture('pjsip-show-aor.not-found.txt'), '9999')).toBeNull();
  });

  it('reads one contact parameter line per contact, whatever characters a URI holds', () => {
    const odd = 'sip:1042@127.0.0.1:5491;x=a,b;y=$(id)\'&"!*';
    const text = fixture('pjsip-show-aor.long-uri.txt').replace(
      /^ contact +: (.*)$/m,
      ` contact              : $1\n contact              : ${odd.replaceAll('$', '$$$$')}`,
    );
    expect(parseAorShow(text, '1042')?.contactUris).toEqual([C1042.slice(5), odd]);
  });

  it.each([
    ['another aor', fixture('pjsip-show-aor.registered-ua.txt'), '1001'],
    ['the not-found answer for another id', fixture('pjsip-show-aor.not-found.txt'), '1000'],
    ['a contacts listing', fixture('pjsip-show-contacts.long-uri.txt'), '1042'],
    ['an unknown command', fixture('no-such-command.txt'), '1000'],
    ['nothing', '', '1000'],
  ])('throws on %s', (_what, text, aor) => {
    expect(() => parseAorShow(text, aor)).toThrow(/Not a "pjsip show aor/);
  });
});

describe('wholeUriOf', () => {
  const [cut] = parseContactListing(fixture('pjsip-show-contacts.long-uri.txt'));
  const whole = C1042.slice(5);

  it('finds the whole URI of the recorded cut line', () => {
    const { contactUris } = parseAorShow(fixture('pjsip-show-aor.long-uri.txt'), '1042')!;
    expect(wholeUriOf(cut, contactUris)).toBe(whole);
  });

  it('tells two URIs with the same start apart by the listed hash', () => {
    const other = `${cut.uri}ffff;ob`;
    expect(wholeUriOf(cut, [other, whole])).toBe(whole);
    const otherLine: ContactLine = { ...cut, hash: contactHash(other) };
    expect(wholeUriOf(otherLine, [whole, other])).toBe(other);
  });

  it('answers null when no URI matches (the contact went between the two reads)', () => {
    expect(wholeUriOf(cut, [])).toBeNull();
    // The phone registered again with a new rinstance: same start, another contact.
    expect(wholeUriOf(cut, [`${cut.uri}0000000000`])).toBeNull();
    expect(wholeUriOf(cut, ['sip:1042@127.0.0.1:5492'])).toBeNull();
    expect(wholeUriOf({ ...cut, hash: '0000000000' }, [`${whole}1`, `${whole}2`])).toBeNull();
  });
});
