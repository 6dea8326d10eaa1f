import { Injectable } from '@nestjs/common';
import { AsteriskError, AsteriskReloader } from '../asterisk/asterisk-reloader';
import { classifyCliFailure, parsePjsipList } from '../asterisk/cli/cli-output-parsers';
import { cliWord } from '../asterisk/cli/cli-word';
import {
  ContactDetail,
  ContactLine,
  parseAorShow,
  parseContactListing,
  parseContactShow,
  wholeUriOf,
} from '../asterisk/cli/contact-parsers';

/** What Asterisk showed of the registrations at `checkedAt`, or why it showed nothing. */
export type ContactSnapshot =
  | { ok: true; contacts: ContactLine[]; loadedAors: ReadonlySet<string>; checkedAt: Date }
  | { ok: false; reason: string; checkedAt: Date };

/** How old a listing may be for a status read: a dashboard polling every user costs one per 2 s. */
export const LISTING_MAX_AGE_MS = 2000;

/**
 * How many aors one listing may ask for the whole URIs of cut contacts, and how many at once: a
 * thousand softphones appearing together cost a few listings' worth of calls, not a burst.
 */
export const AOR_READS_PER_LISTING = 16;
const AOR_READS_AT_ONCE = 4;

/** A cut line by what it shows: its hash is of the whole URI, so the pair names one URI. */
const cutKey = (c: ContactLine): string => `${c.id}\n${c.hash}`;

/**
 * Registration reads, through the one CLI runner. They never take the apply lock nor reload:
 * a read runs beside an apply and sees whatever Asterisk shows at that moment. Concurrent
 * readers share one in-flight listing, and a listing (or its failure) is reused for a short
 * while, so polling costs Asterisk a bounded number of calls whatever the number of clients.
 */
@Injectable()
export class RegistrationReader {
  private cached: { at: number; snapshot: ContactSnapshot } | null = null;
  private inflight: Promise<ContactSnapshot> | null = null;
  /**
   * The whole URI of each cut line of the last listing. `pjsip show contacts` cuts an id at 46
   * characters; `pjsip show aor` holds the URI whole, so it is asked once per such contact.
   */
  private readonly wholeUris = new Map<string, string>();

  constructor(private readonly cli: AsteriskReloader) {}

  /** The contacts and the loaded aors, read at most `maxAgeMs` ago. Never throws. */
  snapshot(maxAgeMs = LISTING_MAX_AGE_MS): Promise<ContactSnapshot> {
    if (this.cached && performance.now() - this.cached.at <= maxAgeMs) {
      return Promise.resolve(this.cached.snapshot);
    }
    this.inflight ??= this.read().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  /** One contact's details; null when Asterisk no longer has it. Throws when it did not answer. */
  async contact(id: string): Promise<ContactDetail | null> {
    // The id holds what the phone sent: quoted so that Asterisk reads it as one word.
    return parseContactShow(await this.ask(`pjsip show contact ${cliWord(id)}`), id);
  }

  /**
   * The contacts with the whole URI of each cut one, asking `pjsip show aor` for at most
   * AOR_READS_PER_LISTING aors not asked before. A line stays cut while its aor's answer is
   * missing (no answer, or the contact went meanwhile); the listing still says the rest.
   */
  async withWholeUris(
    contacts: readonly ContactLine[],
    worthAsking: (c: ContactLine) => boolean = () => true,
  ): Promise<ContactLine[]> {
    const unknown = contacts.filter(
      (c) => c.cut && !this.wholeUris.has(cutKey(c)) && worthAsking(c),
    );
    const aors = [...new Set(unknown.map((c) => c.aor))].slice(0, AOR_READS_PER_LISTING);
    for (let i = 0; i < aors.length; i += AOR_READS_AT_ONCE) {
      await Promise.all(
        aors.slice(i, i + AOR_READS_AT_ONCE).map((aor) => this.learn(aor, unknown)),
      );
    }
    return contacts.map((c) => {
      const uri = c.cut ? this.wholeUris.get(cutKey(c)) : undefined;
      return uri === undefined ? c : { ...c, id: `${c.aor}/${uri}`, uri, cut: false };
    });
  }

  /** Learns the whole URIs of `cut` lines of this aor from `pjsip show aor`. Never throws. */
  private async learn(aor: string, cut: readonly ContactLine[]): Promise<void> {
    let uris: string[];
    try {
      uris = parseAorShow(await this.ask(`pjsip show aor ${cliWord(aor)}`), aor)?.contactUris ?? [];
    } catch {
      return; // asked again with the next listing
    }
    for (const line of cut.filter((c) => c.aor === aor)) {
      const uri = wholeUriOf(line, uris);
      if (uri !== null) this.wholeUris.set(cutKey(line), uri);
    }
  }

  private async read(): Promise<ContactSnapshot> {
    const at = performance.now();
    const checkedAt = new Date();
    let snapshot: ContactSnapshot;
    try {
      // The contact listing keeps a deleted user's contact until it expires, and shows no aor:
      // the aor listing says which contacts belong to an aor Asterisk has loaded.
      const [contacts, aors] = await Promise.all([
        this.ask('pjsip show contacts').then(parseContactListing),
        this.ask('pjsip show aors').then((out) => parsePjsipList(out, 'aors').ids),
      ]);
      const loadedAors = new Set(aors);
      // Only the contacts of the last listing are kept: the map never outgrows it.
      const listed = new Set(contacts.filter((c) => c.cut).map(cutKey));
      for (const key of this.wholeUris.keys()) if (!listed.has(key)) this.wholeUris.delete(key);
      // A contact of an aor not loaded is nobody's (contactsByAor): its URI is not asked for.
      const whole = await this.withWholeUris(contacts, (c) => loadedAors.has(c.aor));
      snapshot = { ok: true, contacts: whole, loadedAors, checkedAt };
    } catch (err) {
      snapshot = { ok: false, reason: (err as Error).message, checkedAt };
    }
    this.cached = { at, snapshot };
    return snapshot;
  }

  private async ask(command: string): Promise<string> {
    const res = await this.cli.run(command);
    const failure = classifyCliFailure(res.stdout, res.stderr, res.exitCode);
    if (failure) throw new AsteriskError(`"${command}" failed: ${failure}`, []);
    return res.stdout;
  }
}
