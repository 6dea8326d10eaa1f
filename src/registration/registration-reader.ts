import { Injectable } from '@nestjs/common';
import { SharedRead } from '../common/shared-read';
import { AsteriskError } from '../asterisk/asterisk-reloader';
import { classifyCliFailure, parsePjsipList } from '../asterisk/cli/cli-output-parsers';
import { cliWord } from '../asterisk/cli/cli-word';
import {
  ContactDetail,
  type ContactLine,
  parseAorShow,
  parseContactListing,
  parseContactShow,
  wholeUriOf,
} from '../asterisk/cli/contact-parsers';
import { AsteriskNodes, NodeSession } from '../asterisk/nodes/asterisk-nodes';
import type { AsteriskNodeConfig } from '../config/asterisk-nodes';
import { liveContacts } from './registration';

/** A listed contact, and the node whose Asterisk holds it. */
export type NodeContact = ContactLine & { node: string };

/**
 * What the nodes showed of the registrations at `checkedAt`: every contact of an aor its node
 * has loaded, and the nodes that did not answer. Not ok only when no node answered.
 */
export type ContactSnapshot =
  | {
      ok: true;
      contacts: NodeContact[];
      /** Nodes that did not answer, each with why: a phone may be registered there. */
      unanswered: { node: string; reason: string }[];
      checkedAt: Date;
    }
  | { ok: false; reason: string; checkedAt: Date };

/** How old a listing may be for a status read: a dashboard polling every user costs one per 2 s. */
export const LISTING_MAX_AGE_MS = 2000;

/**
 * How many aors one listing may ask each node for the whole URIs of cut contacts, and how many
 * at once: a thousand softphones appearing together cost a few listings' worth of calls, not
 * a burst.
 */
export const AOR_READS_PER_LISTING = 16;
const AOR_READS_AT_ONCE = 4;

/** A cut line by node and what it shows: its hash is of the whole URI, so it names one URI. */
const cutKey = (c: NodeContact): string => `${c.node}\n${c.id}\n${c.hash}`;

/**
 * Registration reads of every node, each through that node's connection. They never take the
 * apply lock nor reload: a read runs beside an apply and sees whatever Asterisk shows at that
 * moment. Concurrent readers share one in-flight listing (one per node), and a listing (or its
 * failure) is reused for a short while, so polling costs each node a bounded number of calls
 * whatever the number of clients.
 */
@Injectable()
export class RegistrationReader {
  private readonly shared = new SharedRead(() => this.read(), 'start');
  /**
   * The whole URI of each cut line of the last listing. `pjsip show contacts` cuts an id at 46
   * characters; `pjsip show aor` holds the URI whole, so it is asked once per such contact.
   */
  private readonly wholeUris = new Map<string, string>();

  constructor(private readonly nodes: AsteriskNodes) {}

  /** The contacts of every node, read at most `maxAgeMs` ago. Never throws. */
  snapshot(maxAgeMs = LISTING_MAX_AGE_MS): Promise<ContactSnapshot> {
    return this.shared.get(maxAgeMs);
  }

  /**
   * One contact's details on `node`; null when that node no longer has it. Throws when it did
   * not answer.
   */
  async contact(node: string, id: string): Promise<ContactDetail | null> {
    const config = this.nodes.all.find((n) => n.name === node);
    if (!config) return null;
    // The id holds what the phone sent: quoted so that Asterisk reads it as one word.
    const out = await this.nodes.with(config, (s) => ask(s, `pjsip show contact ${cliWord(id)}`));
    return parseContactShow(out, id);
  }

  /** `contacts` with the whole URI of each cut one that can be learnt now (see `learn`). */
  async withWholeUris(contacts: readonly NodeContact[]): Promise<NodeContact[]> {
    const byNode = new Map<string, NodeContact[]>();
    for (const c of contacts) if (c.cut) byNode.set(c.node, [...(byNode.get(c.node) ?? []), c]);
    await Promise.all(
      [...byNode].map(async ([name, cut]) => {
        const node = this.nodes.all.find((n) => n.name === name);
        if (!node) return;
        await this.nodes.with(node, (s) => this.learn(s, cut)).catch(() => undefined);
      }),
    );
    return contacts.map((c) => this.whole(c));
  }

  /**
   * Learns the whole URIs of cut lines from `pjsip show aor`, asking for at most
   * AOR_READS_PER_LISTING aors not asked before. A line stays cut while its aor's answer is
   * missing (no answer, or the contact went meanwhile); the listing still says the rest.
   * Never throws.
   */
  private async learn(session: NodeSession, contacts: readonly NodeContact[]): Promise<void> {
    const unknown = contacts.filter((c) => c.cut && !this.wholeUris.has(cutKey(c)));
    const aors = [...new Set(unknown.map((c) => c.aor))].slice(0, AOR_READS_PER_LISTING);
    for (let i = 0; i < aors.length; i += AOR_READS_AT_ONCE) {
      await Promise.all(
        aors.slice(i, i + AOR_READS_AT_ONCE).map(async (aor) => {
          let uris: string[];
          try {
            const out = await ask(session, `pjsip show aor ${cliWord(aor)}`);
            uris = parseAorShow(out, aor)?.contactUris ?? [];
          } catch {
            return; // asked again with the next listing
          }
          for (const line of unknown.filter((c) => c.aor === aor)) {
            const uri = wholeUriOf(line, uris);
            if (uri !== null) this.wholeUris.set(cutKey(line), uri);
          }
        }),
      );
    }
  }

  private whole(c: NodeContact): NodeContact {
    const uri = c.cut ? this.wholeUris.get(cutKey(c)) : undefined;
    return uri === undefined ? c : { ...c, id: `${c.aor}/${uri}`, uri, cut: false };
  }

  private async read(): Promise<ContactSnapshot> {
    const checkedAt = new Date();
    const results = await Promise.all(this.nodes.all.map((node) => this.readNode(node)));
    const raw = results.flatMap((r) => r.contacts ?? []);
    // Only the cut contacts of the last listing are kept: the map never outgrows it. A node
    // that did not answer keeps its entries for the next listing.
    const listed = new Set(raw.filter((c) => c.cut).map(cutKey));
    const silent = new Set(results.filter((r) => r.reason !== undefined).map((r) => r.node));
    for (const key of this.wholeUris.keys()) {
      if (!listed.has(key) && !silent.has(key.split('\n')[0])) this.wholeUris.delete(key);
    }
    const contacts = raw.map((c) => this.whole(c));
    const unanswered = results.flatMap((r) =>
      r.reason === undefined ? [] : [{ node: r.node, reason: r.reason }],
    );
    if (unanswered.length === results.length) {
      // With one node its reason stands alone, as it always did.
      const reason =
        unanswered.length === 1
          ? unanswered[0].reason
          : unanswered.map((u) => `${u.node}: ${u.reason}`).join('; ');
      return { ok: false, reason, checkedAt };
    }
    return { ok: true, contacts, unanswered, checkedAt };
  }

  private async readNode(
    node: AsteriskNodeConfig,
  ): Promise<{ node: string; contacts?: NodeContact[]; reason?: string }> {
    try {
      return await this.nodes.with(node, async (session) => {
        // The contact listing keeps a deleted user's contact until it expires, and shows no
        // aor: the aor listing says which contacts belong to an aor Asterisk has loaded.
        const [listed, aors] = await Promise.all([
          ask(session, 'pjsip show contacts').then(parseContactListing),
          ask(session, 'pjsip show aors').then((out) => new Set(parsePjsipList(out, 'aors').ids)),
        ]);
        // A contact of an aor not loaded is nobody's: its URI is not asked for.
        const live = liveContacts(node.name, listed, aors);
        await this.learn(session, live);
        return { node: node.name, contacts: live };
      });
    } catch (err) {
      return { node: node.name, reason: (err as Error).message };
    }
  }
}

async function ask({ reloader }: NodeSession, command: string): Promise<string> {
  const res = await reloader.run(command);
  const failure = classifyCliFailure(res.stdout, res.stderr, res.exitCode);
  if (failure) throw new AsteriskError(`"${command}" failed: ${failure}`, []);
  return res.stdout;
}
