import type { ContactLine } from '../asterisk/cli/contact-parsers';
import { parseContactListing } from '../asterisk/cli/contact-parsers';
import { contactsByAor, liveContacts, registrationOf, stateOf } from './registration';
import { cliFixture } from '../../test/fixtures';

const listing = (name: string, aors: string[]) => ({
  ok: true as const,
  contacts: liveContacts('local', parseContactListing(cliFixture(name)), new Set(aors)),
  unanswered: [],
  checkedAt: new Date(),
});
const states = (name: string, aors = ['1000', '1001', '1002']) => {
  const byAor = contactsByAor(listing(name, aors));
  return Object.fromEntries(aors.map((aor) => [aor, stateOf(byAor.get(aor) ?? [])]));
};

describe('registration state from the recorded listings', () => {
  it.each([
    ['none', { 1000: 'unregistered', 1001: 'unregistered', 1002: 'unregistered' }],
    ['registered', { 1000: 'registered', 1001: 'unregistered', 1002: 'unregistered' }],
    ['two', { 1000: 'registered', 1001: 'registered', 1002: 'unregistered' }],
    ['unregistered', { 1000: 'unregistered', 1001: 'registered', 1002: 'unregistered' }],
    ['qualify-avail', { 1000: 'registered', 1001: 'unregistered', 1002: 'unregistered' }],
    ['qualify-unavail', { 1000: 'unreachable', 1001: 'unregistered', 1002: 'unregistered' }],
    // 1001 registered before its first OPTIONS was answered: NonQual counts as registered.
    ['qualify-pending', { 1000: 'unreachable', 1001: 'registered', 1002: 'unregistered' }],
  ])('pjsip-show-contacts.%s.txt', (name, expected) => {
    expect(states(`pjsip-show-contacts.${name}.txt`)).toEqual(expected);
  });

  it('ignores a contact whose aor is not loaded (a deleted user lingering until expiry)', () => {
    const byAor = contactsByAor(listing('pjsip-show-contacts.two.txt', ['1001']));
    expect([...byAor.keys()]).toEqual(['1001']);
  });

  it('is registered while any contact answers, unreachable only when all stopped', () => {
    const c = (status: ContactLine['status']) => ({ status });
    expect(stateOf([c('Unavail'), c('Avail')])).toBe('registered');
    expect(stateOf([c('Unavail'), c('Unavail')])).toBe('unreachable');
    expect(stateOf([c('Unknown')])).toBe('registered');
    expect(stateOf([])).toBe('unregistered');
  });

  it('merges the nodes: registered when any node has a live contact', () => {
    const a = liveContacts(
      'a',
      parseContactListing(cliFixture('pjsip-show-contacts.qualify-unavail.txt')),
      new Set(['1000']),
    );
    const b = liveContacts(
      'b',
      parseContactListing(cliFixture('pjsip-show-contacts.registered.txt')),
      new Set(['1000']),
    );
    const byAor = contactsByAor({
      ok: true,
      contacts: [...a, ...b],
      unanswered: [],
      checkedAt: new Date(),
    });
    expect(byAor.get('1000')?.map((c) => c.node)).toEqual(['a', 'b']);
    expect(stateOf(byAor.get('1000') ?? [])).toBe('registered');
    expect(stateOf(a)).toBe('unreachable');
  });

  it('is unknown, not unregistered, without a contact while some node did not answer', () => {
    const at = new Date().toISOString();
    expect(registrationOf([], at, 'node did not answer: b: timed out')).toEqual({
      state: 'unknown',
      contacts: [],
      checkedAt: at,
      reason: 'node did not answer: b: timed out',
    });
    expect(registrationOf([], at, null).state).toBe('unregistered');
    const contact = {
      node: 'a',
      uri: 'sip:1000@192.0.2.1',
      status: 'Avail' as const,
      rttMs: 1,
      userAgent: null,
      expiresAt: null,
      viaAddress: null,
    };
    expect(registrationOf([contact], at, 'node did not answer: b: timed out').state).toBe(
      'registered',
    );
  });
});
