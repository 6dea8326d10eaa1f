import * as fs from 'node:fs';
import { type EnvironmentVariables, FILE_GROUP_PATTERN, FILE_MODE_PATTERN } from './env.validation';

export interface SshTargetConfig {
  host: string;
  port: number;
  username: string;
  privateKeyFile: string;
  hostKey: string;
}
export interface AsteriskNodeConfig {
  name: string;
  transport: 'local' | 'ssh';
  pjsipDir: string;
  dialplanDir: string;
  /** Program and leading arguments; `-rx <command>` is appended. */
  cli: string[];
  fileMode: number; // parsed from octal
  fileGroup: string | undefined;
  /** Present exactly when transport is 'ssh'. */
  ssh?: SshTargetConfig;
}

/** The variables the nodes come from: the file, or the single local node's settings. */
export type AsteriskNodesEnvironment = Pick<
  EnvironmentVariables,
  | 'ASTERISK_NODES_FILE'
  | 'ASTERISK_PJSIP_DIR'
  | 'ASTERISK_DIALPLAN_DIR'
  | 'ASTERISK_CLI'
  | 'ASTERISK_FILE_MODE'
  | 'ASTERISK_FILE_GROUP'
>;

/** The nodes, or every reason they cannot be used (one line each). */
export type AsteriskNodesResult = { nodes: AsteriskNodeConfig[] } | { problems: string[] };

/** What is known of a private key file without reading it. */
export interface KeyFileStatus {
  isFile: boolean;
  /** st_mode; only the permission bits are looked at. */
  mode: number;
}

/** The file system as the loader needs it; a parameter so a test can point elsewhere. */
export interface NodesFileAccess {
  /** The nodes file's text; throws the fs error when it cannot be read. */
  readText(file: string): string;
  /**
   * Opens the key file for reading (proving it can be read) and stats it, without reading a
   * byte of it: the key must never end up in a message. Throws the fs error.
   */
  inspectKeyFile(file: string): KeyFileStatus;
}

export const nodeFileSystem: NodesFileAccess = {
  readText: (file) => fs.readFileSync(file, 'utf8'),
  inspectKeyFile: (file) => {
    // O_NONBLOCK: a FIFO put where the key should be must not hang the start-up.
    const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    try {
      const stat = fs.fstatSync(fd);
      return { isFile: stat.isFile(), mode: stat.mode };
    } finally {
      fs.closeSync(fd);
    }
  },
};

/** The one node of an installation without ASTERISK_NODES_FILE: today's variables. */
export function defaultLocalNode(env: AsteriskNodesEnvironment): AsteriskNodeConfig {
  return {
    name: 'local',
    transport: 'local',
    pjsipDir: env.ASTERISK_PJSIP_DIR,
    dialplanDir: env.ASTERISK_DIALPLAN_DIR,
    cli: [env.ASTERISK_CLI],
    fileMode: parseInt(env.ASTERISK_FILE_MODE, 8),
    fileGroup: env.ASTERISK_FILE_GROUP,
  };
}

/**
 * The Asterisk nodes: those of ASTERISK_NODES_FILE, or the default local node without it.
 * Reads the file (and stats each private key file) synchronously, as start-up does once;
 * every problem is collected rather than the first thrown, so an operator fixes them in one go.
 */
export function loadAsteriskNodes(
  env: AsteriskNodesEnvironment,
  files: NodesFileAccess = nodeFileSystem,
): AsteriskNodesResult {
  const file = env.ASTERISK_NODES_FILE;
  if (file === undefined) return { nodes: [defaultLocalNode(env)] };
  const where = `ASTERISK_NODES_FILE ${file}`;
  let text: string;
  try {
    text = files.readText(file);
  } catch (err) {
    return { problems: [`${where} ${unreadable(err)}`] };
  }
  let parsed: unknown;
  try {
    // An editor's byte order mark is not part of the JSON.
    parsed = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    return { problems: [`${where} is not valid JSON (${jsonError(err, text)})`] };
  }
  if (!Array.isArray(parsed)) {
    return { problems: [`${where} must hold a JSON array of node objects (got ${kind(parsed)})`] };
  }
  if (parsed.length === 0) {
    return { problems: [`${where} lists no node; at least one is needed`] };
  }
  const labels = nodeLabels(parsed);
  const problems: string[] = [];
  const nodes: AsteriskNodeConfig[] = [];
  parsed.forEach((raw: unknown, index) => {
    const report = (problem: string): void => {
      problems.push(`ASTERISK_NODES_FILE ${labels[index]}: ${problem}`);
    };
    const node = parseNode(raw, index, parsed, env, files, report);
    if (node) nodes.push(node);
  });
  return problems.length > 0 ? { problems } : { nodes };
}

const NAME = /^[a-z0-9-]{1,32}$/;
const COMMON_FIELDS = [
  'name',
  'transport',
  'pjsipDir',
  'dialplanDir',
  'cli',
  'fileMode',
  'fileGroup',
] as const;
const SSH_FIELDS = ['host', 'port', 'username', 'privateKeyFile', 'hostKey'] as const;
const FIELDS: readonly string[] = [...COMMON_FIELDS, ...SSH_FIELDS];

// A host name, an IPv4 or IPv6 address (with a zone); never an option (`-oProxyCommand=`).
const HOST = /^[A-Za-z0-9_.:%][A-Za-z0-9_.:%-]{0,252}$/;
const USERNAME = /^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}$/;
// What `ssh-keygen -lf` prints: SHA256 and the base64 of the hash without its `=` padding.
const HOST_KEY = /^SHA256:[A-Za-z0-9+/]{43}$/;
// Control characters would split the one-line reports that show the path.
// eslint-disable-next-line no-control-regex
const ABSOLUTE_PATH = /^\/[^\x00-\x1f\x7f]*$/;

/** `node <name>` for a node with a valid, unique name; `nodes[<index>]` otherwise. */
function nodeLabels(nodes: unknown[]): string[] {
  const names = nodes.map((node) => (isObject(node) ? node.name : undefined));
  return names.map((name, index) =>
    typeof name === 'string' && NAME.test(name) && names.indexOf(name) === names.lastIndexOf(name)
      ? `node ${name}`
      : `nodes[${index}]`,
  );
}

/** One node, or undefined after reporting each of its problems. */
function parseNode(
  raw: unknown,
  index: number,
  all: unknown[],
  env: AsteriskNodesEnvironment,
  files: NodesFileAccess,
  report: (problem: string) => void,
): AsteriskNodeConfig | undefined {
  if (!isObject(raw)) {
    report(`must be an object (got ${kind(raw)})`);
    return undefined;
  }
  let ok = true;
  const fail = (problem: string): undefined => {
    ok = false;
    report(problem);
    return undefined;
  };

  for (const key of Object.keys(raw).filter((key) => !FIELDS.includes(key))) {
    const meant = FIELDS.find((field) => field.toLowerCase() === key.toLowerCase());
    fail(`unknown field ${show(key)}${meant ? ` (did you mean ${meant}?)` : ''}`);
  }

  const name = required(raw, 'name', fail, (value) =>
    typeof value === 'string' && NAME.test(value)
      ? value
      : fail(`name must be 1 to 32 lowercase letters, digits or dashes (got ${show(value)})`),
  );
  const first = all.findIndex((other) => isObject(other) && other.name === name);
  if (name !== undefined && first !== index) {
    fail(`name ${show(name)} is already the name of nodes[${first}]`);
  }

  const transport = required(raw, 'transport', fail, (value) =>
    value === 'local' || value === 'ssh'
      ? value
      : fail(`transport must be "local" or "ssh" (got ${show(value)})`),
  );
  const pjsipDir = required(raw, 'pjsipDir', fail, (value) =>
    absolutePath('pjsipDir', value, fail),
  );
  const dialplanDir = required(raw, 'dialplanDir', fail, (value) =>
    absolutePath('dialplanDir', value, fail),
  );
  const cli = required(raw, 'cli', fail, (value) =>
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((arg) => typeof arg === 'string' && arg !== '' && !arg.includes('\0'))
      ? (value as string[])
      : fail(
          `cli must be the command as a non-empty array of non-empty strings, e.g. ["asterisk"] (got ${show(value)})`,
        ),
  );
  const fileMode = optional(raw, 'fileMode', parseInt(env.ASTERISK_FILE_MODE, 8), (value) =>
    typeof value === 'string' && FILE_MODE_PATTERN.test(value)
      ? parseInt(value, 8)
      : fail(`fileMode must be an octal mode as a string, such as "0640" (got ${show(value)})`),
  );
  const fileGroup = optional(raw, 'fileGroup', env.ASTERISK_FILE_GROUP, (value) =>
    typeof value === 'string' && FILE_GROUP_PATTERN.test(value)
      ? value
      : fail(`fileGroup must be a group name or gid (got ${show(value)})`),
  );

  let ssh: SshTargetConfig | undefined;
  if (transport === 'local') {
    for (const field of SSH_FIELDS.filter((field) => Object.hasOwn(raw, field))) {
      fail(`${field} is only for transport "ssh"; this node's transport is "local"`);
    }
  } else if (transport === 'ssh') {
    ssh = parseSshTarget(raw, files, fail);
  }

  if (!ok || name === undefined || transport === undefined) return undefined;
  if (pjsipDir === undefined || dialplanDir === undefined || cli === undefined) return undefined;
  if (fileMode === undefined) return undefined;
  return {
    name,
    transport,
    pjsipDir,
    dialplanDir,
    cli: [...cli],
    fileMode,
    fileGroup,
    ...(ssh ? { ssh } : {}),
  };
}

/** The ssh fields of an ssh node, or undefined after reporting their problems. */
function parseSshTarget(
  raw: Record<string, unknown>,
  files: NodesFileAccess,
  fail: (problem: string) => undefined,
): SshTargetConfig | undefined {
  const host = required(raw, 'host', fail, (value) =>
    typeof value === 'string' && HOST.test(value)
      ? value
      : fail(`host must be a host name or an IP address (got ${show(value)})`),
  );
  const port = optional(raw, 'port', 22, (value) =>
    Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 65535
      ? (value as number)
      : fail(`port must be an integer from 1 to 65535 (got ${show(value)})`),
  );
  const username = required(raw, 'username', fail, (value) =>
    typeof value === 'string' && USERNAME.test(value)
      ? value
      : fail(`username must be a user name (got ${show(value)})`),
  );
  const privateKeyFile = required(raw, 'privateKeyFile', fail, (value) => {
    const file = absolutePath('privateKeyFile', value, fail);
    if (file === undefined) return undefined;
    const problem = keyFileProblem(file, files);
    return problem ? fail(`privateKeyFile ${file} ${problem}`) : file;
  });
  const hostKey = required(raw, 'hostKey', fail, (value) =>
    typeof value === 'string' && HOST_KEY.test(value)
      ? value
      : fail(
          `hostKey must be the server's key fingerprint as \`ssh-keygen -lf\` prints it: SHA256: and 43 base64 characters (got ${show(value)})`,
        ),
  );
  if (host === undefined || port === undefined || username === undefined) return undefined;
  if (privateKeyFile === undefined || hostKey === undefined) return undefined;
  return { host, port, username, privateKeyFile, hostKey };
}

/** Why OpenSSH would refuse the key file (so the portal does too), or undefined. */
function keyFileProblem(file: string, files: NodesFileAccess): string | undefined {
  let status: KeyFileStatus;
  try {
    status = files.inspectKeyFile(file);
  } catch (err) {
    return unreadable(err);
  }
  if (!status.isFile) return 'is not a regular file';
  const open = status.mode & 0o077;
  if (open === 0) return undefined;
  const how = open & 0o044 ? 'readable' : open & 0o022 ? 'writable' : 'executable';
  const mode = (status.mode & 0o7777).toString(8).padStart(4, '0');
  return `is ${how} by group or others (mode ${mode}); chmod 600 it`;
}

/** The field's value through `parse`, or a "missing" report. */
function required<T>(
  raw: Record<string, unknown>,
  field: string,
  fail: (problem: string) => undefined,
  parse: (value: unknown) => T | undefined,
): T | undefined {
  return Object.hasOwn(raw, field) ? parse(raw[field]) : fail(`${field} is missing`);
}

/** The field's value through `parse`, or `fallback` when the field is absent. */
function optional<T>(
  raw: Record<string, unknown>,
  field: string,
  fallback: T,
  parse: (value: unknown) => T | undefined,
): T | undefined {
  return Object.hasOwn(raw, field) ? parse(raw[field]) : fallback;
}

function absolutePath(
  field: string,
  value: unknown,
  fail: (problem: string) => undefined,
): string | undefined {
  return typeof value === 'string' && ABSOLUTE_PATH.test(value)
    ? value
    : fail(`${field} must be an absolute path (got ${show(value)})`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A value from the file as shown in a report: JSON, one line, cut short. */
function show(value: unknown): string {
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 80 ? `${json.slice(0, 77)}...` : json;
}

function kind(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${show(value)}`;
}

/** Why a file could not be opened, as the end of a sentence that names it. */
function unreadable(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOENT') return 'does not exist';
  if (code === 'EACCES' || code === 'EPERM') return 'cannot be read (permission denied)';
  if (code === 'EISDIR') return 'is a directory, not a file';
  return `cannot be read (${code ?? (err instanceof Error ? err.message : String(err))})`;
}

/**
 * What is wrong with the JSON and where, without V8's excerpt of the text: the file might be
 * the wrong one (a private key), and an excerpt could span lines.
 */
function jsonError(err: unknown, text: string): string {
  const message = err instanceof Error ? err.message : String(err);
  const at = /^(.*?) in JSON at position (\d+)/.exec(message);
  if (at) {
    const before = text
      .replace(/^\uFEFF/, '')
      .slice(0, Number(at[2]))
      .split('\n');
    return `${at[1]} at line ${before.length}, column ${before[before.length - 1].length + 1}`;
  }
  if (/^Unexpected end of JSON input/.test(message)) return 'it ends too early';
  return /^Unexpected token/.test(message) ? 'unexpected character' : 'cannot be parsed';
}
