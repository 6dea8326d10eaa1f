import { Injectable } from '@nestjs/common';
import { ContactDetail } from '../asterisk/cli/contact-parsers';
import { ContactSnapshot, NodeContact, RegistrationReader } from './registration-reader';
import { asteriskUnavailable } from '../common/errors/domain-errors';
import {
  ContactDto,
  FilterState,
  RegistrationDto,
  RegistrationState,
  REGISTRATION_STATES,
} from './dto/registration.dto';
import {
  contactsByAor,
  contactsOf,
  listedContact,
  NumberFilter,
  PhoneOwner,
  registrationOf,
  stateOf,
  unansweredReason,
  unknownRegistration,
} from './registration';

/** How old a listing the phone counts of the metrics may use. */
export const COUNTS_MAX_AGE_MS = 30_000;

/** Each user's registration, from Asterisk's contact listing (shared and briefly cached). */
@Injectable()
export class RegistrationService {
  constructor(private readonly reader: RegistrationReader) {}

  snapshot(): Promise<ContactSnapshot> {
    return this.reader.snapshot();
  }

  /**
   * The extensions a list filtered on `state` keeps; throws when Asterisk did not answer. The
   * query matches them to the applied users only, as `contactsOf` does.
   */
  numberFilter(snapshot: ContactSnapshot, state: FilterState): NumberFilter {
    if (!snapshot.ok) throw asteriskUnavailable(snapshot.reason);
    // A phone on a node that did not answer could be in any state: no filter can say.
    const unanswered = unansweredReason(snapshot);
    if (unanswered !== null) throw asteriskUnavailable(unanswered);
    const live = [...contactsByAor(snapshot)];
    if (state === 'unregistered')
      return { numbers: live.map(([aor]) => Number(aor)), exclude: true };
    const numbers = live.filter(([, c]) => stateOf(c) === state).map(([aor]) => Number(aor));
    return { numbers, exclude: false };
  }

  /** Each listed user's registration from one listing; no per-contact details. */
  forList(rows: readonly PhoneOwner[], snapshot: ContactSnapshot): RegistrationDto[] {
    if (!snapshot.ok) return rows.map(() => unknownRegistration(snapshot));
    const byAor = contactsByAor(snapshot);
    const checkedAt = snapshot.checkedAt.toISOString();
    const unanswered = unansweredReason(snapshot);
    return rows.map((row) =>
      registrationOf(contactsOf(byAor, row).map(listedContact), checkedAt, unanswered),
    );
  }

  /**
   * One user's registration with each contact's details (one `pjsip show contact` each). A
   * contact past its expiration_time is dropped: Asterisk lists it for up to about 25 s more.
   */
  async forUser(row: PhoneOwner): Promise<RegistrationDto> {
    const snapshot = await this.reader.snapshot();
    if (!snapshot.ok) return unknownRegistration(snapshot);
    const listed = contactsOf(contactsByAor(snapshot), row);
    const nowSeconds = Date.now() / 1000;
    const details = await Promise.all(listed.map((c) => this.detail(c, nowSeconds)));
    return registrationOf(
      details.filter((c): c is ContactDto => c !== null),
      snapshot.checkedAt.toISOString(),
      unansweredReason(snapshot),
    );
  }

  /**
   * How many of `users` are in each state, from a listing at most `maxAgeMs` old (the metrics'
   * portal_phones{state}; unknown counts every user while Asterisk does not answer).
   */
  async countsByState(
    users: readonly PhoneOwner[],
    maxAgeMs = COUNTS_MAX_AGE_MS,
  ): Promise<Record<RegistrationState, number>> {
    const snapshot = await this.reader.snapshot(maxAgeMs);
    const counts = Object.fromEntries(REGISTRATION_STATES.map((s) => [s, 0])) as Record<
      RegistrationState,
      number
    >;
    if (!snapshot.ok) {
      counts.unknown = users.length;
      return counts;
    }
    const byAor = contactsByAor(snapshot);
    const partial = unansweredReason(snapshot) !== null;
    for (const user of users) {
      const contacts = contactsOf(byAor, user);
      counts[contacts.length === 0 && partial ? 'unknown' : stateOf(contacts)]++;
    }
    return counts;
  }

  /** The listed contact with its details; null when it expired or Asterisk no longer has it. */
  private async detail(listed: NodeContact, nowSeconds: number): Promise<ContactDto | null> {
    // The listing's cap may have left this one cut: its user is asked about now.
    const [contact] = listed.cut ? await this.reader.withWholeUris([listed]) : [listed];
    let detail: ContactDetail | null | undefined;
    // A cut id cannot be asked for, and a failed question leaves what the listing said.
    if (!contact.cut)
      detail = await this.reader.contact(contact.node, contact.id).catch(() => undefined);
    if (detail === undefined) return listedContact(contact);
    if (detail === null) return null;
    const expires = detail.expirationTime;
    if (expires !== null && expires <= nowSeconds) return null; // listed past its expiry
    return {
      node: contact.node,
      uri: detail.uri,
      status: detail.status,
      rttMs: detail.rttMs,
      userAgent: detail.userAgent,
      expiresAt: expires === null ? null : new Date(expires * 1000).toISOString(),
      viaAddress: detail.viaAddress,
    };
  }
}
