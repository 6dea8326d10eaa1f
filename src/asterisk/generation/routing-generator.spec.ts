import { renderRoutingBody } from './routing-generator';
import { SipAccountRow } from './types';
import { cliFixture } from '../../../test/fixtures';

const GOLDEN = cliFixture('three.generated_routing.conf');
const SETTINGS = { context: 'synergycall-internal' };

const user = (extension: number): SipAccountRow => ({
  extension,
  name: `User ${extension}`,
  sipUsername: String(extension),
  realm: 'asterisk',
  md5Digest: '0'.repeat(32),
  sha256Digest: '1'.repeat(64),
});

describe('renderRoutingBody', () => {
  it('produces the dialplan verified on Asterisk 22.7.0 byte for byte', () => {
    expect(renderRoutingBody([user(1002), user(1000), user(1001)], SETTINGS)).toBe(GOLDEN);
  });

  it('gives an empty body, not an empty context, for no users', () => {
    expect(renderRoutingBody([], SETTINGS)).toBe('');
  });

  it('only ever dials the extension itself: no route out of the PBX', () => {
    const body = renderRoutingBody([user(1), user(99999), user(2000)], { context: 'internal' });
    const lines = body.trimEnd().split('\n');
    expect(lines[0]).toBe('[internal]');
    for (const [i, line] of lines.slice(1).entries()) {
      if (i % 2 === 0) {
        const m = /^exten => ([0-9]+),1,Dial\(PJSIP\/([0-9]+),30\)$/.exec(line);
        expect(m).not.toBeNull();
        expect(m![1]).toBe(m![2]);
      } else {
        expect(line).toBe(' same => n,Hangup()');
      }
    }
    expect(lines).toHaveLength(7);
  });

  it('throws on a bad context, a duplicate, or a bad row', () => {
    expect(() => renderRoutingBody([user(1000)], { context: 'a]b' })).toThrow(/context/);
    expect(() => renderRoutingBody([user(1000)], { context: 'general' })).toThrow(/reserved/);
    expect(() => renderRoutingBody([user(1000), user(1000)], SETTINGS)).toThrow(/Duplicate/);
    expect(() => renderRoutingBody([{ ...user(1000), extension: 1e6 }], SETTINGS)).toThrow(
      /Invalid extension/,
    );
  });
});
