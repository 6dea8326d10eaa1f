/**
 * Parsers for the registration reads of Asterisk 22.7.0: `pjsip show contacts` (every contact,
 * its qualify status and RTT), `pjsip show aor <aor>` (its contacts' whole URIs) and
 * `pjsip show contact <aor>/<uri>` (adds the user agent, the expiry and where the REGISTER came
 * from). Layouts as recorded in test/fixtures/asterisk-22-cli.
 */
import { createHash } from 'node:crypto';
import { CliOutputError } from './cli-output-parsers';

/** `Unknown` was never seen on 22.7.0; anything but these words is not a contact line. */
export const CONTACT_STATUSES = ['Avail', 'Unavail', 'NonQual', 'Unknown'] as const;
export type ContactStatus = (typeof CONTACT_STATUSES)[number];

export interface ContactLine {
  /** `<aor>/<uri>` exactly as printed: the argument `pjsip show contact` takes. */
  id: string;
  aor: string;
  uri: string;
  status: ContactStatus;
  /** Round trip of the last answered OPTIONS; null when there is none (`nan`). */
  rttMs: number | null;
  /** The first 10 hex digits of the MD5 of the whole URI, as Asterisk prints it. */
  hash: string;
  /** The id filled its column, so Asterisk may have cut it: `pjsip show contact` cannot take it. */
  cut: boolean;
}

/** `pjsip show aor <aor>`: the aor and the whole URI of each of its contacts. */
export interface AorDetail {
  aor: string;
  maxContacts: number;
  /** As stored, never cut; in Asterisk's order (by stored contact id). */
  contactUris: string[];
}

export interface ContactDetail extends ContactLine {
  userAgent: string | null;
  /** Unix seconds: REGISTER time plus the granted expiry. */
  expirationTime: number | null;
  viaAddress: string | null;
  viaPort: number | null;
  endpoint: string | null;
}

const NO_OBJECTS = 'No objects found.';
const OBJECTS_FOUND = /^Objects found: (\d+)$/;
// `%*s:  %-*.*s %-10.10s %-7.7s %11.3f`: the id is padded (and cut) to 46 characters at the
// top level; status and RTT are padded, so the fields are split on whitespace.
const CONTACT_LINE = /^ {2}Contact: {2}(\S+) +([0-9a-f]{10}) +(\S+) +(\S+) *$/;
const ID_WIDTH = 46;

function parseContactLine(line: string): ContactLine | null {
  const m = CONTACT_LINE.exec(line);
  if (!m || m[1].startsWith('<')) return null; // no match, or the header's placeholders
  const [, id, hash, status, rtt] = m;
  const slash = id.indexOf('/');
  if (slash <= 0) throw new CliOutputError(`Contact id without an aor: ${JSON.stringify(id)}`);
  if (!(CONTACT_STATUSES as readonly string[]).includes(status)) {
    throw new CliOutputError(`Unknown contact status ${JSON.stringify(status)} for ${id}`);
  }
  const rttMs = rtt === 'nan' ? null : Number(rtt);
  if (rttMs !== null && !Number.isFinite(rttMs)) {
    throw new CliOutputError(`Contact RTT is not a number: ${JSON.stringify(rtt)}`);
  }
  return {
    id,
    aor: id.slice(0, slash),
    uri: id.slice(slash + 1),
    status: status as ContactStatus,
    rttMs,
    hash,
    cut: id.length >= ID_WIDTH,
  };
}

/** The ` name : value` lines under `ParameterName : ParameterValue`, in order. */
function parameterLines(content: string[]): [string, string][] {
  const start = content.findIndex((l) => /^ ParameterName +: ParameterValue$/.test(l));
  if (start < 0) return [];
  return content.slice(start + 1).flatMap((line): [string, string][] => {
    const m = /^ (\w+) +: ?(.*)$/.exec(line);
    return m ? [[m[1], m[2]]] : [];
  });
}

/** `pjsip show contacts`: every contact line, checked against the count. */
export function parseContactListing(output: string): ContactLine[] {
  const content = output.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (content.length === 1 && content[0].trim() === NO_OBJECTS) return [];
  const footer = content.length > 0 ? OBJECTS_FOUND.exec(content[content.length - 1].trim()) : null;
  if (!footer) {
    throw new CliOutputError(`Not a "pjsip show contacts" listing: ${quoteFirst(content)}`);
  }
  const contacts = content.map(parseContactLine).filter((c): c is ContactLine => c !== null);
  if (contacts.length !== Number(footer[1])) {
    throw new CliOutputError(
      `"pjsip show contacts" says Objects found: ${footer[1]} but lists ${contacts.length}`,
    );
  }
  return contacts;
}

/**
 * `pjsip show contact <id>`: the contact with its parameters, or null when Asterisk answers
 * `Unable to find object <id>.` (the contact expired or was removed since it was listed).
 */
export function parseContactShow(output: string, id: string): ContactDetail | null {
  const content = output.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (content.length === 1 && content[0] === `Unable to find object ${id}.`) return null;
  const lines = content.map(parseContactLine).filter((c): c is ContactLine => c !== null);
  // The contact line is cut like the listing's: a long id shows only its start there.
  const [shown] = lines;
  const sameId = shown?.id === id || (shown?.cut === true && id.startsWith(shown.id));
  if (lines.length !== 1 || !sameId) {
    throw new CliOutputError(`Not a "pjsip show contact ${id}" answer: ${quoteFirst(content)}`);
  }
  const params = new Map(parameterLines(content));
  const text = (key: string): string | null => {
    const value = params.get(key);
    return value === undefined || value === '' ? null : value;
  };
  const int = (key: string): number | null => {
    const value = text(key);
    return value !== null && /^\d+$/.test(value) ? Number(value) : null;
  };
  const uri = id.slice(id.indexOf('/') + 1);
  if (text('uri') !== uri) {
    throw new CliOutputError(
      `"pjsip show contact ${id}" shows another uri: ${quoteFirst(content)}`,
    );
  }
  return {
    ...shown,
    id,
    uri,
    cut: false,
    userAgent: text('user_agent'),
    expirationTime: int('expiration_time'),
    viaAddress: text('via_addr'),
    viaPort: int('via_port'),
    endpoint: text('endpoint'),
  };
}

/**
 * `pjsip show aor <aor>`: its whole contact URIs, or null when Asterisk answers `Unable to find
 * object <aor>.` (no such aor loaded). The CLI prints one `contact : <uri>` parameter line per
 * contact (Asterisk's location.c, contacts_to_var_list) and `contact : ` alone when there is
 * none; a URI may itself hold commas, so one value is never split.
 */
export function parseAorShow(output: string, aor: string): AorDetail | null {
  const content = output.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (content.length === 1 && content[0] === `Unable to find object ${aor}.`) return null;
  const own = content.flatMap((l) => /^ {6}Aor: {2}(\S+) +(\d+) *$/.exec(l) ?? []);
  const params = parameterLines(content);
  if (own.length !== 3 || own[1] !== aor || params.length === 0) {
    throw new CliOutputError(`Not a "pjsip show aor ${aor}" answer: ${quoteFirst(content)}`);
  }
  const contactUris = params.flatMap(([name, value]) =>
    name === 'contact' && value !== '' ? [value] : [],
  );
  return { aor, maxContacts: Number(own[2]), contactUris };
}

/** What Asterisk prints in the Hash column for a contact URI. */
export function contactHash(uri: string): string {
  return createHash('md5').update(uri).digest('hex').slice(0, 10);
}

/**
 * The whole URI of a cut contact line among its aor's URIs: the one that starts with the cut
 * text and has the listed hash (the hash tells apart two URIs with the same start, and a phone
 * that registered again with a new `;rinstance=` between the two reads). Null when none matches.
 */
export function wholeUriOf(line: ContactLine, uris: readonly string[]): string | null {
  return uris.find((uri) => uri.startsWith(line.uri) && contactHash(uri) === line.hash) ?? null;
}

function quoteFirst(content: string[]): string {
  const first = content[0];
  if (first === undefined) return '(no output)';
  return JSON.stringify(first.length > 200 ? `${first.slice(0, 200)}...` : first);
}
