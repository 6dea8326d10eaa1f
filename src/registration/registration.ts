import type { ContactLine } from '../asterisk/cli/contact-parsers';
import type { ContactSnapshot, NodeContact } from './registration-reader';
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
 * The contacts a node listed that belong to an aor it has loaded: a deleted user's contact
 * stays listed until it expires, and once an apply has dropped its aor it is nobody's.
 */
export function liveContacts(
  node: string,
  listed: readonly ContactLine[],
  loadedAors: ReadonlySet<string>,
): NodeContact[] {
  return listed.filter((c) => loadedAors.has(c.aor)).map((c) => ({ ...c, node }));
}

/**
 * The live contacts per aor, of every node that answered. The generator names each user's aor
 * after its extension.
 */
export function contactsByAor(listing: Listing): Map<string, NodeContact[]> {
  const byAor = new Map<string, NodeContact[]>();
  for (const contact of listing.contacts) {
    byAor.set(contact.aor, [...(byAor.get(contact.aor) ?? []), contact]);
  }
  return byAor;
}

/** Why a user without a live contact on the nodes that answered may still be registered. */
export function unansweredReason(listing: Listing): string | null {
  if (listing.unanswered.length === 0) return null;
  return `${listing.unanswered.length === 1 ? 'node' : 'nodes'} did not answer: ${listing.unanswered.map((u) => `${u.node}: ${u.reason}`).join('; ')}`;
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
  byAor: ReadonlyMap<string, NodeContact[]>,
  user: PhoneOwner,
): NodeContact[] {
  if (!user.applied) return [];
  return byAor.get(String(user.extension)) ?? [];
}

/** A phone is registered while any live contact answers or is not qualified (yet). */
export function stateOf(contacts: readonly { status: ContactLine['status'] }[]): RegistrationState {
  if (contacts.length === 0) return 'unregistered';
  return contacts.every((c) => c.status === 'Unavail') ? 'unreachable' : 'registered';
}

/** A contact as a list shows it: the listing has no user agent, expiry or source address. */
export function listedContact(contact: NodeContact): ContactDto {
  return {
    node: contact.node,
    uri: contact.uri,
    status: contact.status,
    rttMs: contact.rttMs,
    userAgent: null,
    expiresAt: null,
    viaAddress: null,
  };
}

/**
 * `checkedAt` as an ISO string: a list formats it once for all its users. A phone is
 * registered when any node has a live contact; without one, it is unknown while some node did
 * not answer (`unanswered`, the reason), and unregistered only when every node said so.
 */
export function registrationOf(
  contacts: ContactDto[],
  checkedAt: string,
  unanswered: string | null = null,
): RegistrationDto {
  if (contacts.length === 0 && unanswered !== null) {
    return { state: 'unknown', contacts: [], checkedAt, reason: unanswered };
  }
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
