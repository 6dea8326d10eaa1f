import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  contentHash,
  isUnmodified,
  parseHeader,
  stripHeader,
} from '../../../src/asterisk/generation/file-header';
import type { AsteriskSandbox } from '../../support/asterisk-sandbox';

export type Kind = 'endpoints' | 'routing';
export const KINDS: Kind[] = ['endpoints', 'routing'];

/** Both files' text as read from disk (null: missing). */
export type FilePair = Record<Kind, string | null>;
/** The bodies (headers stripped) of a known state of the pair. */
export type BodyPair = Record<Kind, string>;
/**
 * A known state of the pair as the SHA-256 of each body: what a dry run's `sha256` gives
 * (its `content` shows the digests redacted, so only the hash pins the real body).
 */
export type StateHashes = Record<Kind, string>;

function readIfExists(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** The last good pair, kept by the portal as one JSON file in the PJSIP directory. */
export function lastGoodPath(box: AsteriskSandbox): string {
  return path.join(box.pjsipDir, '.synergycall-last-good.json');
}

export function readFiles(box: AsteriskSandbox): FilePair {
  return {
    endpoints: readIfExists(box.endpointsFile),
    routing: readIfExists(box.routingFile),
  };
}

export function readLastGood(box: AsteriskSandbox): FilePair {
  const text = readIfExists(lastGoodPath(box));
  if (text === null) return { endpoints: null, routing: null };
  const pair = JSON.parse(text) as Partial<Record<Kind, string>>;
  return { endpoints: pair.endpoints ?? null, routing: pair.routing ?? null };
}

/** Why a generated file is not a complete version: missing, no header, or body != hash. */
export function headerProblems(label: string, files: FilePair): string[] {
  const problems: string[] = [];
  for (const kind of KINDS) {
    const text = files[kind];
    if (text === null) problems.push(`${label} ${kind}: missing`);
    else if (!parseHeader(text)) problems.push(`${label} ${kind}: no valid header`);
    else if (!isUnmodified(text)) problems.push(`${label} ${kind}: body does not match its hash`);
  }
  return problems;
}

export function bodiesOf(files: FilePair): BodyPair | null {
  if (files.endpoints === null || files.routing === null) return null;
  return { endpoints: stripHeader(files.endpoints), routing: stripHeader(files.routing) };
}

export function hashesOf(files: FilePair): StateHashes | null {
  const bodies = bodiesOf(files);
  if (!bodies) return null;
  return { endpoints: contentHash(bodies.endpoints), routing: contentHash(bodies.routing) };
}

/**
 * Which known state each file is from: the state's name when both are from the same one,
 * otherwise a description such as `mixed (endpoints: new, routing: old)`.
 */
export function classifyPair(files: FilePair, states: Record<string, StateHashes>): string {
  const from = (kind: Kind): string => {
    const text = files[kind];
    if (text === null) return 'missing';
    const hash = contentHash(stripHeader(text));
    const names = Object.entries(states)
      .filter(([, s]) => s[kind] === hash)
      .map(([name]) => name);
    return names.length ? names.join('|') : 'unknown';
  };
  const e = from('endpoints');
  const r = from('routing');
  const common = e.split('|').filter((n) => r.split('|').includes(n) && n in states);
  if (common.length) return common[0];
  return `mixed (endpoints: ${e}, routing: ${r})`;
}

/** Temp files (anything ending in .tmp) in the portal's two include directories. */
export function tempFiles(box: AsteriskSandbox): string[] {
  return box.listing().filter((name) => name.endsWith('.tmp'));
}
