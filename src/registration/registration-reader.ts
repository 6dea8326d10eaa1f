import { Injectable } from '@nestjs/common';
import { AsteriskError, AsteriskReloader } from '../asterisk/asterisk-reloader';
import { classifyCliFailure, parsePjsipList } from '../asterisk/cli/cli-output-parsers';
import {
  ContactDetail,
  ContactLine,
  parseContactListing,
  parseContactShow,
} from '../asterisk/cli/contact-parsers';

/** What Asterisk showed of the registrations at `checkedAt`, or why it showed nothing. */
export type ContactSnapshot =
  | { ok: true; contacts: ContactLine[]; loadedAors: ReadonlySet<string>; checkedAt: Date }
  | { ok: false; reason: string; checkedAt: Date };

/** How old a listing may be for a status read: a dashboard polling every user costs one per 2 s. */
export const LISTING_MAX_AGE_MS = 2000;

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
    return parseContactShow(await this.ask(`pjsip show contact ${id}`), id);
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
      snapshot = { ok: true, contacts, loadedAors: new Set(aors), checkedAt };
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
