/**
 * Parsers for what `asterisk -rx "<command>"` prints on Asterisk 22.7.0. The layouts are those
 * recorded byte for byte in test/fixtures/asterisk-22-cli. A reload's exit code and success line
 * say nothing about what loaded, so the portal reads state back with these and compares ids;
 * anything that is not the expected listing throws rather than reads as "nothing loaded".
 */

/** Printed by `module reload res_pjsip.so`, also when objects failed to load. */
export const PJSIP_RELOADED = "Module 'res_pjsip.so' reloaded successfully.";
/** Printed by `dialplan reload`, also when lines were dropped. */
export const DIALPLAN_RELOADED = 'Dialplan reloaded.';
export const RELOAD_IN_PROGRESS = 'A module reload request is already in progress';
export const NOT_RUNNING = 'Unable to connect to remote asterisk';
export const NO_SUCH_COMMAND = 'No such command';

export type PjsipListKind = 'endpoints' | 'aors' | 'auths';

export interface PjsipList {
  /** Top-level object ids in listing order (for endpoints, the part before `/<callerid>`). */
  ids: string[];
  objectsFound: number;
}

/** `pjsip show endpoints` with, under each endpoint, the loaded objects it references. */
export interface EndpointListing extends PjsipList {
  /** Ids of the aors listed under endpoints (`Aor:` lines). */
  aors: string[];
  /** Ids of the inbound auths listed under endpoints (`InAuth:  <id>/<username>` lines). */
  auths: string[];
}

export interface DialplanShow {
  exists: boolean;
  extensions: string[];
  extensionCount: number;
  priorityCount: number;
}

export class CliOutputError extends Error {
  override name = 'CliOutputError';
}

// Asterisk right-aligns each title in a 9-character column at the top level (nested lines
// are indented further), and pads the endpoint and aor name fields to a fixed width,
// truncating longer ones (res_pjsip_cli.h: CLI_LAST_TABSTOP 62).
const LISTINGS: Record<PjsipListKind, { title: string; nameWidth: number | null }> = {
  endpoints: { title: 'Endpoint', nameWidth: 51 },
  aors: { title: 'Aor', nameWidth: 41 },
  auths: { title: 'Auth', nameWidth: null },
};
const TOP_LEVEL_INDENT = 9;
const NO_OBJECTS = 'No objects found.';
const OBJECTS_FOUND = /^Objects found: (\d+)$/;
const SEPARATOR = /^=+$/;

/**
 * `pjsip show endpoints|aors|auths`: the ids of the top-level objects, checked against the
 * count. `onNested` sees every other line of the body (those nested under an object).
 */
export function parsePjsipList(
  output: string,
  kind: PjsipListKind,
  onNested?: (line: string) => void,
): PjsipList {
  const listing = LISTINGS[kind];
  if (!listing) throw new CliOutputError(`Unknown pjsip listing kind ${String(kind)}`);
  const lines = output.split(/\r?\n/);
  const content = lines.filter((l) => l.trim() !== '');
  if (content.length === 0) {
    throw new CliOutputError(`Empty output where "pjsip show ${kind}" was expected`);
  }
  if (content.length === 1 && content[0].trim() === NO_OBJECTS) return { ids: [], objectsFound: 0 };

  const footer = OBJECTS_FOUND.exec(content[content.length - 1].trim());
  const separator = lines.findIndex((l) => SEPARATOR.test(l));
  if (!footer || separator < 0) {
    throw new CliOutputError(`Not a "pjsip show ${kind}" listing: ${quoteFirstLine(output)}`);
  }

  const prefix = `${listing.title.padStart(TOP_LEVEL_INDENT)}:  `;
  const ids: string[] = [];
  for (const line of lines.slice(separator + 1)) {
    if (!line.startsWith(prefix)) {
      onNested?.(line); // nested lines (InAuth:, Aor:, Contact:) are indented further
      continue;
    }
    const field = line.slice(prefix.length);
    if (field.startsWith('<')) continue; // a header placeholder, not an object
    const token = field.split(' ', 1)[0];
    if (token === '') throw new CliOutputError(`Object line without an id in "pjsip show ${kind}"`);
    if (listing.nameWidth !== null && token.length >= listing.nameWidth) {
      throw new CliOutputError(`Object name cut at ${listing.nameWidth} characters: ${token}`);
    }
    // Endpoint:  <id>/<callerid number>, Auth:  <id>/<username>
    ids.push(kind === 'aors' ? token : token.split('/', 1)[0]);
  }

  const objectsFound = Number(footer[1]);
  if (objectsFound !== ids.length) {
    throw new CliOutputError(
      `"pjsip show ${kind}" says Objects found: ${objectsFound} but lists ${ids.length}`,
    );
  }
  return { ids, objectsFound };
}

// Nested under an endpoint, right-aligned in an 11-character column.
const NESTED_AOR = '        Aor:  ';
const NESTED_IN_AUTH = '     InAuth:  ';

/**
 * `pjsip show endpoints`, children included. Asterisk prints an aor or auth under an endpoint
 * only when that object is loaded (res_pjsip looks each one up and skips a missing one), so
 * this one listing shows which endpoints, aors and auths loaded and that they belong together.
 */
export function parseEndpointListing(output: string): EndpointListing {
  const aors: string[] = [];
  const auths: string[] = [];
  const list = parsePjsipList(output, 'endpoints', (line) => {
    if (line.startsWith(NESTED_AOR)) aors.push(line.slice(NESTED_AOR.length).split(' ', 1)[0]);
    else if (line.startsWith(NESTED_IN_AUTH)) {
      auths.push(line.slice(NESTED_IN_AUTH.length).split('/', 1)[0]);
    }
  });
  return { ...list, aors, auths };
}

const CONTEXT_HEADER = /^\[ Context '(.*)' created by '(.*)' \]$/;
const FOOTER = /^-= (\d+) extensions? \((\d+) priorit(?:y|ies)\) in (\d+) contexts?\. =-$/;
// '1000' => or '1000' (CID match '555') =>
const FIRST_PRIORITY = /^ {2}'(.*?)'(?: \(CID match '.*'\))? =>/;
// Later priorities of the same extension, optionally with a [label] in the first column.
const LATER_PRIORITY = /^ {2} *(?:\[[^\]]*\] *)?(?:-?\d+\. |hint: )/;

/** `dialplan show <context>`: whether the context exists, its extensions and the counts. */
export function parseDialplanShow(output: string, context: string): DialplanShow {
  const lines = output.split(/\r?\n/);
  const content = lines.filter((l) => l.trim() !== '');
  if (content.length === 0) {
    throw new CliOutputError(`Empty output where "dialplan show ${context}" was expected`);
  }
  if (content[0] === `There is no existence of '${context}' context`) {
    return { exists: false, extensions: [], extensionCount: 0, priorityCount: 0 };
  }

  const headers = content.filter((l) => CONTEXT_HEADER.test(l));
  const header = CONTEXT_HEADER.exec(content[0]);
  if (!header) {
    throw new CliOutputError(`Not a "dialplan show ${context}" listing: ${quoteFirstLine(output)}`);
  }
  if (header[1] !== context || headers.length !== 1) {
    throw new CliOutputError(`"dialplan show ${context}" listed other contexts: ${content[0]}`);
  }
  const footer = FOOTER.exec(content[content.length - 1]);
  if (!footer) {
    throw new CliOutputError(`"dialplan show ${context}" has no summary line (output cut short?)`);
  }

  const extensions: string[] = [];
  let priorityCount = 0;
  for (const line of content.slice(1, -1)) {
    const first = FIRST_PRIORITY.exec(line);
    if (first) {
      extensions.push(first[1]);
      priorityCount++;
    } else if (LATER_PRIORITY.test(line)) {
      priorityCount++;
    }
  }

  const [extensionCount, shownPriorities, contexts] = footer.slice(1).map(Number);
  if (extensionCount !== extensions.length || shownPriorities !== priorityCount || contexts !== 1) {
    throw new CliOutputError(
      `"dialplan show ${context}" summary (${footer[0]}) disagrees with the ` +
        `${extensions.length} extensions and ${priorityCount} priorities listed`,
    );
  }
  return { exists: true, extensions, extensionCount, priorityCount };
}

const UNKNOWN_COMMAND_LINE = new RegExp(`^${NO_SUCH_COMMAND} '.*$`, 'm');
// At a line's start only: a listing quotes text a phone sent (its User-Agent), which may hold
// these words anywhere else.
const NOT_RUNNING_LINE = new RegExp(`^${NOT_RUNNING}`, 'm');
const RELOAD_IN_PROGRESS_LINE = new RegExp(`^${RELOAD_IN_PROGRESS}`, 'm');

/**
 * Why a CLI call failed, or null when the answer is an ordinary one. Exit code 0 alone proves
 * nothing: an unknown command and a refused reload both exit 0.
 */
export function classifyCliFailure(
  stdout: string,
  stderr: string,
  exitCode: number | null,
): string | null {
  if (stderr.includes(NOT_RUNNING) || NOT_RUNNING_LINE.test(stdout)) {
    return `${NOT_RUNNING}: Asterisk is not running or its control socket is not reachable`;
  }
  if (RELOAD_IN_PROGRESS_LINE.test(stdout)) return RELOAD_IN_PROGRESS;
  // A search, not a split: a read-back of 1,000 endpoints is about 9,000 lines.
  const unknown = UNKNOWN_COMMAND_LINE.exec(stdout);
  if (unknown !== null) return clip(unknown[0]);
  if (exitCode === null) return 'the Asterisk CLI was killed before it answered';
  if (exitCode !== 0) {
    const detail = stderr.trim().split(/\r?\n/, 1)[0];
    return `the Asterisk CLI exited with code ${exitCode}${detail ? `: ${clip(detail)}` : ''}`;
  }
  return null;
}

/**
 * `core show version`: the version, e.g. `22.7.0` from `Asterisk 22.7.0 built by root @ vm on a
 * x86_64 running Linux on ...` (one line).
 */
export function parseCoreShowVersion(output: string): string {
  const m = /^Asterisk (\S+) built by /.exec(output.replace(/^\s+/, ''));
  if (!m) throw new CliOutputError(`Not a "core show version" answer: ${quoteFirstLine(output)}`);
  return m[1];
}

function quoteFirstLine(output: string): string {
  const first = output.split(/\r?\n/).find((l) => l.trim() !== '');
  return first === undefined ? '(no output)' : JSON.stringify(clip(first));
}

function clip(s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}...` : s;
}
