import type { ContactLine } from '../asterisk/cli/contact-parsers';
import type { ContactSnapshot } from './registration-reader';
import type { ContactDto, RegistrationDto, RegistrationState } from './dto/registration.dto';

type Listing = Extract<ContactSnapshot, { ok: true }>;

/**
 * A user as registration sees it: the number its phone registers on, and whether the user was
 * in the config of the last successful apply. The users module reads these and passes them in.
 */
export interface PhoneOwner {
  extension: number;
  applied: boolean;
}

/**
 * Extension numbers to keep (or, with `exclude`, to leave out); a number matches only the
 * users in the applied config (`applied`), as only their aor is theirs.
 */
export interface NumberFilter {
  numbers: number[];
  exclude: boolean;
}

/**
 * The listed contacts per aor, for aors Asterisk has loaded only: a deleted user's contact
 * stays listed until it expires, and once an apply has dropped its aor it is nobody's. The
 * generator names each user's aor after its extension.
 */
export function contactsByAor(listing: Listing): Map<string, ContactLine[]> {
  const byAor = new Map<string, ContactLine[]>();
  for (const contact of listing.contacts) {
    if (!listing.loadedAors.has(contact.aor)) continue;
    byAor.set(contact.aor, [...(byAor.get(contact.aor) ?? []), contact]);
  }
  return byAor;
}

/**
 * A user's listed contacts. A user created after the start of the last successful apply has
 * none: its number's aor, if Asterisk has one loaded, is a previous owner's (whose phone may
 * still be registered there). Once an apply has loaded the new user, a previous owner's phone
 * still holding a contact on that number shows here until its registration expires: Asterisk
 * keeps the contact and the phone answers qualify; its refresh fails on the new credentials,
 * so the contact is not renewed.
 */
export function contactsOf(
  byAor: ReadonlyMap<string, ContactLine[]>,
  user: PhoneOwner,
): ContactLine[] {
  if (!user.applied) return [];
  return byAor.get(String(user.extension)) ?? [];
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
