import { createHash } from 'node:crypto';
import fc from 'fast-check';
import {
  contentHash,
  HEADER_BANNER,
  isUnmodified,
  parseHeader,
  stripHeader,
  withHeader,
} from './file-header';

const INFO = {
  applyId: '3f0c2a7e-6a57-4c1b-9a55-2f1d1c0b9e11',
  generatedAt: new Date('2025-01-02T03:04:05.678Z'),
};
const BODY = '[1000]\ntype=endpoint\ncallerid="Zoë Ünal" <1000>\n';

describe('file header', () => {
  it('hashes the UTF-8 bytes of the body', () => {
    expect(contentHash(BODY)).toBe(createHash('sha256').update(Buffer.from(BODY)).digest('hex'));
    expect(contentHash('')).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });

  it('writes four comment lines and a blank line before the body', () => {
    const text = withHeader(BODY, INFO);
    expect(text).toBe(
      `${HEADER_BANNER}\n` +
        `; apply-id: ${INFO.applyId}\n` +
        '; generated-at: 2025-01-02T03:04:05.678Z\n' +
        `; content-sha256: ${contentHash(BODY)}\n` +
        '\n' +
        BODY,
    );
    // Every header line is an Asterisk comment, and none opens a block comment (";--").
    for (const line of text.split('\n').slice(0, 4)) expect(line).toMatch(/^; [^-]/);
  });

  it('round-trips the header and the body exactly', () => {
    const text = withHeader(BODY, { ...INFO, contentHash: contentHash(BODY) });
    expect(parseHeader(text)).toEqual({ ...INFO, contentHash: contentHash(BODY) });
    expect(stripHeader(text)).toBe(BODY);
    expect(isUnmodified(text)).toBe(true);
  });

  it('round-trips any body, including an empty one', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary' }),
        fc.uuid(),
        fc.date({ noInvalidDate: true, min: new Date(0), max: new Date('9999-12-31') }),
        (body, applyId, generatedAt) => {
          const text = withHeader(body, { applyId, generatedAt });
          expect(stripHeader(text)).toBe(body);
          expect(parseHeader(text)).toEqual({
            applyId,
            generatedAt,
            contentHash: contentHash(body),
          });
        },
      ),
    );
  });

  it('detects a hand-edited body', () => {
    const text = withHeader(BODY, INFO);
    expect(isUnmodified(text.replace('Zoë', 'Zoe'))).toBe(false);
    expect(isUnmodified(BODY)).toBe(false);
  });

  it('returns null for text without a valid header, and stripHeader leaves it alone', () => {
    const good = withHeader(BODY, INFO);
    const broken = [
      BODY,
      '',
      good.replace('; apply-id: ', '; apply-id:'),
      good.replace('2025-01-02T03:04:05.678Z', 'yesterday'),
      good.replace('2025-01-02T03:04:05.678Z', '2025-01-02'),
      good.replace(contentHash(BODY), 'nothex'),
      good.replace(`${contentHash(BODY)}\n\n`, `${contentHash(BODY)}\n`),
      ` ${good}`,
    ];
    for (const text of broken) {
      expect(parseHeader(text)).toBeNull();
      expect(stripHeader(text)).toBe(text);
    }
  });

  it('refuses a header that would lie about its body or break the file', () => {
    expect(() => withHeader(BODY, { ...INFO, contentHash: contentHash('other') })).toThrow(
      /does not match/,
    );
    expect(() => withHeader(BODY, { ...INFO, applyId: 'x\n[1000]' })).toThrow(/apply id/);
    expect(() => withHeader(BODY, { ...INFO, applyId: '' })).toThrow(/apply id/);
    expect(() => withHeader(BODY, { ...INFO, generatedAt: new Date('nope') })).toThrow(
      /generatedAt/,
    );
  });
});
