/**
 * Parsers for the registration reads of Asterisk 22.7.0: `pjsip show contacts` (every contact,
 * its qualify status and RTT) and `pjsip show contact <aor>/<uri>` (adds the user agent, the
 * expiry and where the REGISTER came from). Layouts as recorded in test/fixtures/asterisk-22-cli.
 */
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
  /** The id filled its column, so Asterisk may have cut it: `pjsip show contact` cannot take it. */
  cut: boolean;
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
  const [, id, , status, rtt] = m;
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
    cut: id.length >= ID_WIDTH,
  };
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
  if (lines.length !== 1 || lines[0].id !== id) {
    throw new CliOutputError(`Not a "pjsip show contact ${id}" answer: ${quoteFirst(content)}`);
  }
  const params = new Map<string, string>();
  for (const line of content) {
    const m = /^ (\w+) +: ?(.*)$/.exec(line);
    if (m) params.set(m[1], m[2]);
  }
  const text = (key: string): string | null => {
    const value = params.get(key);
    return value === undefined || value === '' ? null : value;
  };
  const int = (key: string): number | null => {
    const value = text(key);
    return value !== null && /^\d+$/.test(value) ? Number(value) : null;
  };
  return {
    ...lines[0],
    userAgent: text('user_agent'),
    expirationTime: int('expiration_time'),
    viaAddress: text('via_addr'),
    viaPort: int('via_port'),
    endpoint: text('endpoint'),
  };
}

function quoteFirst(content: string[]): string {
  const first = content[0];
  if (first === undefined) return '(no output)';
  return JSON.stringify(first.length > 200 ? `${first.slice(0, 200)}...` : first);
}
