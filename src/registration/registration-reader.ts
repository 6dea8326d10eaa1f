import { Injectable } from '@nestjs/common';
import { AsteriskError } from '../asterisk/asterisk-reloader';
import { classifyCliFailure, parsePjsipList } from '../asterisk/cli/cli-output-parsers';
import {
  ContactDetail,
  type ContactLine,
  parseContactListing,
  parseContactShow,
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
 * Registration reads of every node, each through that node's connection. They never take the
 * apply lock nor reload: a read runs beside an apply and sees whatever Asterisk shows at that
 * moment. Concurrent readers share one in-flight listing (one per node), and a listing (or its
 * failure) is reused for a short while, so polling costs each node a bounded number of calls
 * whatever the number of clients.
 */
@Injectable()
export class RegistrationReader {
  private cached: { at: number; snapshot: ContactSnapshot } | null = null;
  private inflight: Promise<ContactSnapshot> | null = null;

  constructor(private readonly nodes: AsteriskNodes) {}

  /** The contacts of every node, read at most `maxAgeMs` ago. Never throws. */
  snapshot(maxAgeMs = LISTING_MAX_AGE_MS): Promise<ContactSnapshot> {
    if (this.cached && performance.now() - this.cached.at <= maxAgeMs) {
      return Promise.resolve(this.cached.snapshot);
    }
    this.inflight ??= this.read().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  /**
   * One contact's details on `node`; null when that node no longer has it. Throws when it did
   * not answer.
   */
  async contact(node: string, id: string): Promise<ContactDetail | null> {
    const config = this.nodes.all.find((n) => n.name === node);
    if (!config) return null;
    const out = await this.nodes.with(config, (s) => ask(s, `pjsip show contact ${id}`));
    return parseContactShow(out, id);
  }

  private async read(): Promise<ContactSnapshot> {
    const at = performance.now();
    const checkedAt = new Date();
    const results = await Promise.all(this.nodes.all.map((node) => this.readNode(node)));
    const contacts = results.flatMap((r) => r.contacts ?? []);
    const unanswered = results.flatMap((r) =>
      r.reason === undefined ? [] : [{ node: r.node, reason: r.reason }],
    );
    let snapshot: ContactSnapshot;
    if (unanswered.length === results.length) {
      // With one node its reason stands alone, as it always did.
      const reason =
        unanswered.length === 1
          ? unanswered[0].reason
          : unanswered.map((u) => `${u.node}: ${u.reason}`).join('; ');
      snapshot = { ok: false, reason, checkedAt };
    } else {
      snapshot = { ok: true, contacts, unanswered, checkedAt };
    }
    this.cached = { at, snapshot };
    return snapshot;
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
        return { node: node.name, contacts: liveContacts(node.name, listed, aors) };
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
