import fc from 'fast-check';
import { renderEndpointsBody } from './endpoints-generator';
import { SipAccountRow } from './types';
import { HOSTILE_CHARS } from '../../../test/support/hostile-chars';
import { cliFixtureBytes, generatedFixture } from '../../../test/fixtures';

const GOLDEN = cliFixtureBytes('three.generated_endpoints.conf');
// The recorded file has no qualify_frequency: 0 reproduces it as the real Asterisk loaded it.
const SETTINGS = { context: 'synergycall-internal', qualifySeconds: 0 };

/** The three users the real Asterisk loaded, with the digests from the recorded file. */
const THREE: SipAccountRow[] = [
  {
    extension: 1000,
    name: 'Alice Smith',
    sipUsername: '1000',
    realm: 'asterisk',
    md5Digest: '8606dac57bed4e4823f252dbc0084e65',
    sha256Digest: 'ac6173be1fdb0c7fa31303d754fec72f4b15baea18f040392453bed54eaa228f',
  },
  {
    extension: 1001,
    name: "Bob O'Neil",
    sipUsername: '1001',
    realm: 'asterisk',
    md5Digest: 'e6608906382bd24628545e96f5eade85',
    sha256Digest: 'af21b173748f638411c26d595c4dc896b59a3601accfd41ce0118308cac90f32',
  },
  {
    extension: 1002,
    name: 'Zo\u00eb \u00dcnal',
    sipUsername: '1002',
    realm: 'asterisk',
    md5Digest: '9ec8b8c9870a6c84e6d05a615466c417',
    sha256Digest: '734e935fd78440bb55bd2290b52a27b9b17a64c222d9c0bf80ae316571d9089a',
  },
];

const LINES_PER_USER = 25; // 12 endpoint + 6 auth + 4 aor lines, 3 blank separators
const HEADER = /^\[[0-9]+(-auth)?\]$/;
const CALLERID = /^callerid="[^";[\]<>\\\r\n]*" <[0-9]+>$/;

describe('renderEndpointsBody', () => {
  it('produces the shape verified on Asterisk 22.7.0 byte for byte', () => {
    const body = renderEndpointsBody(THREE, SETTINGS);
    expect(Buffer.from(body, 'utf8').equals(GOLDEN)).toBe(true);
    expect(Buffer.from(body, 'utf8').includes(Buffer.from([0xc3, 0xab, 0x20, 0xc3, 0x9c]))).toBe(
      true,
    );
  });

  it('adds qualify_frequency to each aor when qualify is on', () => {
    const body = renderEndpointsBody(THREE, { ...SETTINGS, qualifySeconds: 60 });
    expect(body).toBe(generatedFixture('three.qualify-60.generated_endpoints.conf'));
    expect(renderEndpointsBody(THREE, { ...SETTINGS, qualifySeconds: 86400 })).toMatch(
      /^remove_existing=yes\nqualify_frequency=86400$/m,
    );
  });

  it.each([-1, 1.5, 86401, NaN, '60'])('refuses qualify frequency %p', (qualifySeconds) => {
    expect(() =>
      renderEndpointsBody(THREE, { ...SETTINGS, qualifySeconds: qualifySeconds as number }),
    ).toThrow(/qualify frequency .* must be an integer from 0 to 86400/);
  });

  it('sorts by extension whatever the input order', () => {
    const shuffled = [THREE[2], THREE[0], THREE[1]];
    expect(renderEndpointsBody(shuffled, SETTINGS)).toBe(GOLDEN.toString('utf8'));
  });

  it('gives an empty body for no users', () => {
    expect(renderEndpointsBody([], SETTINGS)).toBe('');
  });

  it('uses the realm, username and context given', () => {
    const body = renderEndpointsBody(
      [{ ...THREE[0], realm: 'pbx.example.com', sipUsername: '771000' }],
      { context: 'other_ctx-2', qualifySeconds: 0 },
    );
    expect(body).toContain('\nrealm=pbx.example.com\n');
    expect(body).toContain('\nusername=771000\n');
    expect(body).toContain('\ncontext=other_ctx-2\n');
  });

  it('sanitizes the caller ID name and never writes a plaintext password', () => {
    const body = renderEndpointsBody(
      [{ ...THREE[0], name: 'Eve"; type=endpoint\n[9999]\ncontext=outbound' }],
      SETTINGS,
    );
    expect(body).toContain('callerid="Eve__ type_endpoint__9999__context_outbound" <1000>\n');
    expect(body).not.toMatch(/^password=/m);
    expect(body.split('\n').filter((l) => l.startsWith('['))).toEqual([
      '[1000]',
      '[1000-auth]',
      '[1000]',
    ]);
  });

  it.each<[string, () => string]>([
    ['a bad context', () => renderEndpointsBody(THREE, { ...SETTINGS, context: 'x;y' })],
    ['a duplicate extension', () => renderEndpointsBody([THREE[0], THREE[0]], SETTINGS)],
    ['a bad realm', () => renderEndpointsBody([{ ...THREE[0], realm: 'a\nb' }], SETTINGS)],
    [
      'an extension out of range',
      () => renderEndpointsBody([{ ...THREE[0], extension: 0 }], SETTINGS),
    ],
  ])('throws on %s', (_what, render) => {
    expect(render).toThrow();
  });

  it('keeps the file structure intact for any names', () => {
    const hostile = fc.constantFrom(...HOSTILE_CHARS);
    const name = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.string({ unit: 'grapheme', maxLength: 120 }),
      fc.string({ unit: hostile, maxLength: 120 }),
    );
    const rows = fc
      .uniqueArray(fc.integer({ min: 1, max: 99999 }), { maxLength: 12 })
      .chain((exts) =>
        fc
          .tuple(...exts.map(() => name))
          .map((names) => exts.map((extension, i) => ({ ...THREE[0], extension, name: names[i] }))),
      );
    fc.assert(
      fc.property(rows, (users) => {
        const body = renderEndpointsBody(users, SETTINGS);
        if (users.length === 0) return body === '';
        const lines = body.split('\n');
        expect(lines.pop()).toBe(''); // ends with exactly one newline
        expect(lines).toHaveLength(LINES_PER_USER * users.length - 1);
        const headers = lines.filter((l) => l.startsWith('['));
        expect(headers).toHaveLength(3 * users.length);
        headers.forEach((h) => expect(h).toMatch(HEADER));
        const callerIds = lines.filter((l) => l.startsWith('callerid='));
        expect(callerIds).toHaveLength(users.length);
        callerIds.forEach((c) => expect(c).toMatch(CALLERID));
        // Nothing can start a comment, a directive, or a new option out of place.
        for (const line of lines) {
          if (line === '' || HEADER.test(line)) continue;
          expect(line).toMatch(/^[a-z_]+=[^;\r\0]*$/);
        }
      }),
    );
  });
});
