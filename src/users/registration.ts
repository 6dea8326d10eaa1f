import type { ContactLine } from '../asterisk/cli/contact-parsers';
import type { ContactSnapshot } from '../asterisk/registration-reader';
import type { ContactDto, RegistrationDto, RegistrationState } from './dto/registration.dto';

type Listing = Extract<ContactSnapshot, { ok: true }>;

/**
 * The listed contacts per aor, for aors Asterisk has loaded only: a deleted user's contact
 * stays listed until it expires, and a number given to a new user before the next apply must
 * not show the previous owner's phone. The generator names each user's aor after its extension.
 */
export function contactsByAor(listing: Listing): Map<string, ContactLine[]> {
  const byAor = new Map<string, ContactLine[]>();
  for (const contact of listing.contacts) {
    if (!listing.loadedAors.has(contact.aor)) continue;
    byAor.set(contact.aor, [...(byAor.get(contact.aor) ?? []), contact]);
  }
  return byAor;
}

/** A phone is registered while any live contact answers or is not qualified (yet). */
export function stateOf(contacts: readonly { status: ContactLine['status'] }[]): RegistrationState {
  if (contacts.length === 0) return 'unregistered';
  return contacts.every((c) => c.status === 'Unavail') ? 'unreachable' : 'registered';
}

/** A contact as a list shows it: the listing has no user agent, expiry or source address. */
export function listedContact(contact: ContactLine): ContactDto {
  return {
    uri: contact.uri,
    status: contact.status,
    rttMs: contact.rttMs,
    userAgent: null,
    expiresAt: null,
    viaAddress: null,
  };
}

/** `checkedAt` as an ISO string: a list formats it once for all its users. */
export function registrationOf(contacts: ContactDto[], checkedAt: string): RegistrationDto {
  return { state: stateOf(contacts), contacts, checkedAt };
}

export function unknownRegistration(snapshot: ContactSnapshot & { ok: false }): RegistrationDto {
  return {
    state: 'unknown',
    contacts: [],
    checkedAt: snapshot.checkedAt.toISOString(),
    reason: snapshot.reason,
  };
}
