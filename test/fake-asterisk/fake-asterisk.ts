/*
 * The fake `asterisk -rx "<command>"` of Asterisk 22.7.0 (README.md beside this file). One run
 * is one call; `asterisk` beside this file runs it, compiled by build.ts. Text is handled as
 * latin1 strings, one character per byte, so padding, truncation and sorting work on bytes like
 * the C code (printf widths, strcmp) and UTF-8 passes through untouched.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

type Faults = {
  down: boolean;
  reloadInProgress: number;
  delayMs: Record<string, number>;
  rejectObjects: string[];
  dropExtensions: string[];
};
type Ctx = { etc: string; state: string; faults: Faults; key: string };
type Endpoint = { id: string; number: string; auths: string[]; aors: string[] };
type Auth = { id: string; username: string };
type Aor = { id: string; maxContacts: number; qualifyFrequency: number; removeExisting: boolean };
type Pjsip = { endpoint: Endpoint[]; auth: Auth[]; aor: Aor[] };
type Priority = { prio: number; app: string; data: string; file: string; line: number };
type Extension = { exten: string; prios: Priority[] };
type Variable = { name: string; value: string; file: string; line: number };
type Category = { name: string; vars: Variable[] };
type Answer = { code: number; stdout: string; stderr: string };

const DOWN = 'Unable to connect to remote asterisk (does /var/run/asterisk/asterisk.ctl exist?)\n';
const IN_PROGRESS = 'A module reload request is already in progress; please be patient\n';
const NO_OBJECTS = 'No objects found.\n\n';
// `core show version` of the recorded build, as printed (core-show-version.txt).
const VERSION =
  'Asterisk 22.7.0 built by root @ vm on a x86_64 running Linux on 2026-12-07 17:13:40 UTC\n';
const HEADERS = {
  endpoint: `
 Endpoint:  <Endpoint/CID.....................................>  <State.....>  <Channels.>
    I/OAuth:  <AuthId/UserName...........................................................>
        Aor:  <Aor............................................>  <MaxContact>
      Contact:  <Aor/ContactUri..........................> <Hash....> <Status> <RTT(ms)..>
  Transport:  <TransportId........>  <Type>  <cos>  <tos>  <BindAddress..................>
   Identify:  <Identify/Endpoint.........................................................>
        Match:  <criteria.........................>
    Channel:  <ChannelId......................................>  <State.....>  <Time.....>
        Exten: <DialedExten...........>  CLCID: <ConnectedLineCID.......>
`,
  aor: `
      Aor:  <Aor..............................................>  <MaxContact>
    Contact:  <Aor/ContactUri............................> <Hash....> <Status> <RTT(ms)..>
`,
  auth: `
  I/OAuth:  <AuthId/UserName.............................................................>
`,
  contact: `
  Contact:  <Aor/ContactUri..............................> <Hash....> <Status> <RTT(ms)..>
`,
};
// The commands the fake runs. An unknown command is told its words up to the first that no
// known command continues with: for the words of these commands, that is the real answer.
const COMMANDS = ['module reload', 'dialplan reload', 'dialplan show', 'core show version'].concat(
  words('endpoints aors auths contacts aor contact').map((kind) => `pjsip show ${kind}`),
);
const KNOWN_PREFIXES = new Set(
  COMMANDS.flatMap((c) => words(c).map((_w, i, all) => all.slice(0, i + 1).join(' '))),
);

/** A mistake in driving the fake (environment, faults.json, a config it does not model). */
class Misuse extends Error {}

const errno = (err: unknown) => (err instanceof Error ? (err as NodeJS.ErrnoException).code : '');
function words(s: string): string[] {
  return s.split(/[ \t\n\r\v\f]+/).filter((w) => w !== '');
}
/**
 * cli.c parse_args(): the words of a command line. Space and tab end a word outside double
 * quotes, `"` opens and closes quoting (and starts a word after a space), `\` makes the next
 * character literal.
 */
function cliArgs(line: string): string[] {
  const args: string[] = [];
  let [quoted, escaped, space] = [false, false, true];
  for (const ch of line.replace(/^[ \t\n\r\v\f]+/, '')) {
    if (ch === '"' && !escaped) {
      quoted = !quoted;
      if (quoted && space) [space] = [false, args.push('')];
    } else if ((ch === ' ' || ch === '\t') && !(quoted || escaped)) {
      space = true;
    } else if (ch === '\\' && !escaped) {
      escaped = true;
    } else {
      if (space) [space] = [false, args.push('')];
      args[args.length - 1] += ch;
      escaped = false;
    }
  }
  return args;
}
const cstrip = (s: string) => s.replace(/^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g, '');
const list = (s: string) => s.split(',').flatMap((x) => cstrip(x) || []);
const strcmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const parse = (text: string): unknown => JSON.parse(text);
/** UTF-8 text as latin1, one character per byte, as the fake handles all text. */
const latin1 = (s: string) => Buffer.from(s, 'utf8').toString('latin1');
/** The file's text, or null when it is missing. */
function read(file: string, encoding: BufferEncoding = 'utf8'): string | null {
  try {
    return fs.readFileSync(file, encoding);
  } catch (err) {
    if (errno(err) === 'ENOENT') return null;
    throw err;
  }
}
/** Replaces the file atomically: a reader sees the old or the new text. */
function writeJson(file: string, value: unknown): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, JSON.stringify(value));
  fs.renameSync(tmp, file);
}

/** One call: argv (decoded from UTF-8 by node) in, code and output out. */
async function main(args: string[]): Promise<Answer> {
  // getopt: -rx cmd, -r -x cmd, -xcmd; other flags are accepted and ignored.
  const at = args.findIndex((a) => /^-[^-C]*x/.test(a));
  const raw = at < 0 ? undefined : args[at].slice(args[at].indexOf('x') + 1) || args[at + 1];
  if (raw === undefined)
    throw new Misuse('usage: asterisk -rx "<command>" (nothing else is emulated)');
  const [etc, state] = ['FAKE_ASTERISK_ETC', 'FAKE_ASTERISK_STATE'].map((name) => {
    const dir = process.env[name];
    if (!dir) throw new Misuse(`${name} is not set (see test/fake-asterisk/README.md)`);
    return path.resolve(dir);
  });
  fs.mkdirSync(state, { recursive: true });
  const { faults } = readFaults(state);
  if (faults.down) return { code: 1, stdout: '', stderr: DOWN };
  const ctx = { etc, state, faults, key: cliArgs(raw).join(' ') };
  // Back to bytes, so that the output echoes them unchanged.
  return { code: 0, stdout: await execute(Buffer.from(raw).toString('latin1'), ctx), stderr: '' };
}

// faults.json -----------------------------------------------------------------------------------

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const strings = (v: unknown) => Array.isArray(v) && v.every((s) => typeof s === 'string');
// Each key of faults.json: its healthy default, a check of its value and what the check wants.
const FAULT_KEYS: Record<string, [unknown, (v: unknown) => boolean, string]> = {
  down: [false, (v) => typeof v === 'boolean', 'true or false'],
  reloadInProgress: [0, (v) => Number.isInteger(v) && Number(v) >= 0, 'a non-negative integer'],
  delayMs: [
    {},
    (v) => isObject(v) && Object.values(v).every((ms) => typeof ms === 'number' && ms >= 0),
    'an object of commands and milliseconds >= 0',
  ],
  rejectObjects: [[], strings, 'strings'],
  dropExtensions: [[], strings, 'strings'],
};

/** `text` is the file, when read already. */
function readFaults(state: string, text = read(path.join(state, 'faults.json'))) {
  const file = path.join(state, 'faults.json');
  let raw: unknown = {};
  try {
    if (text && text.trim() !== '') raw = parse(text);
  } catch (err) {
    throw new Misuse(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(raw)) throw new Misuse(`${file}: must be a JSON object`);
  const known = Object.keys(FAULT_KEYS);
  for (const [key, v] of Object.entries(raw)) {
    if (!Object.hasOwn(FAULT_KEYS, key))
      throw new Misuse(`${file}: unknown key "${key}" (known: ${known.join(', ')})`);
    if (!FAULT_KEYS[key][1](v)) throw new Misuse(`${file}: ${key} must be ${FAULT_KEYS[key][2]}`);
  }
  const healthy = Object.fromEntries(known.map((key) => [key, FAULT_KEYS[key][0]]));
  return { raw, faults: { ...healthy, ...raw } as Faults };
}

/**
 * Waits out the command's delayMs, counted from its start. faults.json is read again meanwhile:
 * once the entry (or the file) is gone, the command answers at once, as a healed Asterisk would.
 */
async function delay(ctx: Ctx): Promise<void> {
  const started = Date.now();
  // by the command's words, as the command is looked up
  const delayOf = (f: Faults) =>
    Object.entries(f.delayMs).find(([command]) => words(command).join(' ') === ctx.key)?.[1] ?? 0;
  for (let ms = delayOf(ctx.faults); Date.now() - started < ms;) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(ms - (Date.now() - started), 100)));
    if (!fs.existsSync(ctx.state)) process.exit(1); // the test is gone: answer nothing
    try {
      const text = read(path.join(ctx.state, 'faults.json'));
      if (text?.trim() !== '') ms = text === null ? 0 : delayOf(readFaults(ctx.state, text).faults);
    } catch {
      // Empty, half written or broken: the delay stays, and the next command reports it.
    }
  }
}

// Commands --------------------------------------------------------------------------------------

async function execute(command: string, ctx: Ctx): Promise<string> {
  const args = cliArgs(command);
  const w = args.map((x) => x.toLowerCase());
  if (w.some((x) => /[ \t]/.test(x)) && !/^pjsip show (aor|contact) /.test(w.join(' ')))
    throw new Misuse(`a quoted word with a space is modelled only as an object id: ${command}`);
  const line = w.join(' '); // outside an id no word holds a space: a pattern on the line matches words
  if (w.length === 0) return '';
  if (/^module reload( |$)/.test(line)) return moduleReload(args.slice(2), ctx);
  await delay(ctx);
  if (line === 'dialplan reload') {
    reloadDialplan(ctx);
    return 'Dialplan reloaded.\n';
  }
  const pjsip = /^pjsip show (endpoint|aor|auth|contact)s$/.exec(line);
  if (pjsip) return showListing(pjsip[1] as keyof typeof HEADERS, ctx.state);
  const one = /^pjsip show (aor|contact)$/.exec(w.slice(0, 3).join(' '));
  if (one && w.length > 4) throw new Misuse(`more than one argument is not modelled: ${command}`);
  if (one && w.length === 4) return showObject(one[1] as 'aor' | 'contact', ctx.state, args[3]);
  if (line === 'core show version') return VERSION;
  if (/^dialplan show( [^ ]+)?$/.test(line)) return showDialplan(ctx, args[2], command);
  // cli.c find_best(): the words up to and including the first that no command continues with.
  const best = w.findIndex((_w, i) => !KNOWN_PREFIXES.has(w.slice(0, i + 1).join(' ')));
  const tried = w.slice(0, best < 0 ? w.length : best + 1).join(' ');
  const help = `type 'core show help ${tried}' for other possible commands`;
  return `No such command '${command}' (${help})\n`;
}

async function moduleReload(names: string[], ctx: Ctx): Promise<string> {
  // With no name, everything is reloaded and nothing printed, even when refused.
  const refused = names.length === 0 ? '' : IN_PROGRESS;
  const lock = path.join(ctx.state, 'reload.lock');
  if (!takeLock(lock)) return refused;
  try {
    const { raw, faults } = readFaults(ctx.state);
    if (faults.reloadInProgress > 0) {
      const left = faults.reloadInProgress - 1;
      writeJson(path.join(ctx.state, 'faults.json'), { ...raw, reloadInProgress: left });
      return refused;
    }
    await delay(ctx);
    let out = '';
    for (const name of names.length === 0 ? ['res_pjsip', 'pbx_config'] : names) {
      const module = name.toLowerCase().replace(/\.so$/, '');
      if (module === 'res_pjsip') reloadPjsip({ ...ctx, faults });
      if (module === 'pbx_config') reloadDialplan({ ...ctx, faults });
      if (!/^(res_pjsip|pbx_config)$/.test(module)) out += `No such module '${name}'\n`;
      else if (names.length > 0) out += `Module '${name}' reloaded successfully.\n`;
    }
    return out;
  } finally {
    if (read(lock) === String(process.pid)) fs.rmSync(lock, { force: true });
  }
}

/**
 * The reload lock, held for the whole reload: a second reload meanwhile is refused at once. It
 * holds the pid, so that a lock left by a killed process is recognised.
 */
function takeLock(lock: string): boolean {
  try {
    fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
    return true;
  } catch (err) {
    if (errno(err) !== 'EEXIST') throw err;
  }
  try {
    return !process.kill(Number(read(lock)), 0); // alive; 0 (being written): our own group
  } catch (err) {
    if (errno(err) !== 'ESRCH') return false;
    fs.rmSync(lock, { force: true }); // left by a killed process
    return takeLock(lock);
  }
}

// Config files (main/config.c) ------------------------------------------------------------------

/**
 * The categories of `name` and of the files it includes, in order; null when it is missing or
 * invalid: the module then keeps what it had loaded.
 */
function loadConfig(etc: string, name: string): Category[] | null {
  const categories: Category[] = [];
  let current = categories.at(-1);
  /** false: none matched, or one was invalid */
  const load = (pattern: string, level: number): boolean => {
    const files = level > 10 ? [] : expandGlob(path.resolve(etc, pattern));
    for (const file of files) {
      let cat = current; // the category in effect when an include started: the file goes on in it
      for (const [i, line] of (read(file, 'latin1') ?? '').split('\n').entries()) {
        const where = `${file}:${i + 1}`;
        const semi = line.search(/(?<!\\);/); // `;` starts a comment, `\;` is a literal `;`
        if (/^;--(?!-)/.test(line.slice(semi)))
          throw new Misuse(`${where}: block comments are not modelled`);
        const cur = cstrip((semi < 0 ? line : line.slice(0, semi)).replaceAll('\\;', ';'));
        const [eq, category] = [cur.indexOf('='), /^\[([^\]]*)\](\()?/.exec(cur)];
        if (category?.[2])
          throw new Misuse(`${where}: templates and category options are not modelled`);
        if (cur.startsWith('[') && !category) return false; // "no closing ']'"
        if (category) categories.push((cat = current = { name: category[1], vars: [] }));
        else if (cur.startsWith('#')) {
          const [, directive, arg] = /^#([!-\uffff]*)[ \t\n\v\f\r]*(.*)$/s.exec(cur) ?? [];
          // #exec is off by default; an include without an argument is only a warning.
          if (!/^(try)?include$/i.test(directive) || arg === '') continue;
          const found = load(arg.replace(/^"(.*)"$|^<(.*)>$/s, '$1$2'), level + 1);
          if (!found && directive.toLowerCase() === 'include') return false;
        } else if (cur !== '' && !cat)
          return false; // "parse error: No category context"
        else if (cat && eq >= 0) {
          // `name = value`, `name => value`, `name += more`; a line without `=` is ignored.
          const append = cur[eq - 1] === '+';
          const key = cstrip(cur.slice(0, append ? eq - 1 : eq));
          const value = cur.slice(!append && cur[eq + 1] === '>' ? eq + 2 : eq + 1);
          const target = append ? cat.vars.findLast((v) => v.name === key) : undefined;
          if (target) target.value = cstrip(target.value + value);
          else if (key !== '')
            cat.vars.push({ name: key, value: cstrip(value), file, line: i + 1 });
        }
      }
    }
    return files.length > 0;
  };
  return load(name, 1) ? categories : null;
}

/**
 * glob() as Asterisk calls it, for a wildcard in the file name: sorted files, none when it
 * matches none, and never a name with a leading dot (temp files .x.conf.tmp are never loaded).
 * `pattern` is absolute.
 */
function expandGlob(pattern: string): string[] {
  const [dir, base] = [path.dirname(pattern), path.basename(pattern)];
  if (/[*?[]/.test(dir) || base.includes('['))
    throw new Misuse(`${pattern}: this glob is not modelled`);
  const glob = base
    .replace(/[.+^${}()|\\\]]/g, '\\$&')
    .replaceAll('*', '.*')
    .replaceAll('?', '.');
  const re = new RegExp(`^${glob}$`, 's');
  const isDir = fs.existsSync(dir) && fs.statSync(dir).isDirectory();
  const names = !/[*?]/.test(base) ? [base] : isDir ? fs.readdirSync(dir) : [];
  return names
    .filter((n) => (base[0] === '.' || n[0] !== '.') && re.test(n))
    .map((n) => path.join(dir, n))
    .filter((f) => fs.existsSync(f) && fs.statSync(f).isFile())
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

// res_pjsip: the sorcery config wizard over pjsip.conf ------------------------------------------

/** strtoul(v, &end, 0) as ast_parse_arg(PARSE_UINT32) uses it; null: rejected. */
function parseUint(v: string): number | null {
  const m = /^\+?(?:0[xX]([0-9a-fA-F]+)|(0[0-7]*)|([1-9][0-9]*))$/.exec(v);
  const n = !m ? NaN : m[1] ? parseInt(m[1], 16) : m[2] ? parseInt(m[2], 8) : Number(m[3]);
  return n <= 0xffffffff ? n : null;
}

type Check = (v: string) => boolean;
const CODECS = ['all', 'ulaw', 'alaw', 'gsm', 'g722', 'g729', 'opus'];
const DIGESTS = new Map(Object.entries({ md5: 32, 'sha-256': 64, 'sha-512-256': 64 }));
const codecs: Check = (v) =>
  list(v).every((c) => CODECS.includes(c.split(':')[0].toLowerCase().replace(/^!/, '')));
// The options the portal writes, with a check where a bad value makes the object fail. Any other
// option fails the object as an unknown one does in sorcery: the fake knows no more than these.
const all = (names: string, check: Check = () => true) =>
  words(names).map((n): [string, Check] => [n, check]);
const OPTIONS: Record<keyof Pjsip, Map<string, Check>> = {
  endpoint: new Map([
    ...all('context auth aors callerid direct_media rtp_symmetric force_rport rewrite_contact'),
    ...all('disallow allow', codecs),
  ]),
  auth: new Map([
    ...all('username realm password_digest'), // password_digest is checked whole in buildObject
    ['auth_type', (v) => /^(digest|userpass|md5|google_oauth)$/i.test(v)],
  ]),
  aor: new Map([
    ...all('remove_existing'),
    ['max_contacts', (v) => parseUint(v) !== null],
    ['qualify_frequency', (v) => (parseUint(v) ?? Infinity) <= 86400],
  ]),
};

function readPjsip(state: string): Pjsip {
  const text = read(path.join(state, 'pjsip.json')) ?? '{"endpoint":[],"auth":[],"aor":[]}';
  return parse(text) as Pjsip;
}

function reloadPjsip(ctx: Ctx): void {
  const categories = loadConfig(ctx.etc, 'pjsip.conf');
  if (categories === null) return; // invalid or missing: everything stays as it was
  const previous = readPjsip(ctx.state);
  const loaded: Record<keyof Pjsip, Map<string, Endpoint | Auth | Aor>> = {
    endpoint: new Map(),
    auth: new Map(),
    aor: new Map(),
  };
  for (const { name: id, vars } of categories) {
    const type = vars.find((v) => v.name.toLowerCase() === 'type')?.value;
    // transport, global...: never listed
    if (type !== 'endpoint' && type !== 'auth' && type !== 'aor') continue;
    const obj = ctx.faults.rejectObjects.includes(id) ? null : buildObject(type, id, vars);
    // A failed object keeps the version loaded before ("Retaining existing configuration ...").
    const kept = obj ?? [...previous[type]].find((o) => o.id === id);
    loaded[type].delete(id); // a later category with the same id replaces the earlier one
    if (kept) loaded[type].set(id, kept);
  }
  // as the listings show them
  const byId = (a: { id: string }, b: { id: string }) => strcmp(a.id, b.id);
  const sorted = Object.entries(loaded).map(([type, o]) => [type, [...o.values()].sort(byId)]);
  writeJson(path.join(ctx.state, 'pjsip.json'), Object.fromEntries(sorted));
}

/** The object, or null when an option is unknown or a value bad ("Error parsing ..."). */
function buildObject(
  type: keyof Pjsip,
  id: string,
  vars: Variable[],
): Endpoint | Auth | Aor | null {
  const f: Partial<Record<string, Variable>> = {};
  for (const v of vars) {
    const option = v.name.toLowerCase();
    if (option === 'type' || option.startsWith('@')) continue;
    if (!OPTIONS[type].get(option)?.(v.value)) return null;
    f[option] = v; // the last value of an option wins
  }
  if (type === 'aor') {
    const uint = (v?: Variable) => parseUint(v?.value ?? '0') ?? 0;
    const [maxContacts, qualifyFrequency] = [f.max_contacts, f.qualify_frequency].map(uint);
    const removeExisting = /^(yes|true|y|t|1|on)$/i.test(f.remove_existing?.value ?? ''); // ast_true
    return { id, maxContacts, qualifyFrequency, removeExisting };
  }
  if (type === 'endpoint') {
    const [auths, aors] = [f.auth, f.aors].map((v) => list(v?.value ?? ''));
    return { id, number: callerIdNumber(f.callerid), auths, aors };
  }
  for (const digest of f.password_digest?.value.split(',') ?? []) {
    const m = /^([^:]*):([0-9a-fA-F]*)$/.exec(cstrip(digest));
    if (!m || DIGESTS.get(m[1].toLowerCase()) !== m[2].length) return null;
  }
  return { id, username: f.username?.value ?? '' };
}

/** ast_callerid_split(): the number of the portal's `"name" <number>`, the only form modelled, or '' without a callerid. */
function callerIdNumber(v?: Variable): string {
  const m = /^"[^"<>]*" *<([0-9#*+]*)>$/.exec(v?.value ?? '""<>');
  if (v && !m) throw new Misuse(`${v.file}:${v.line}: this callerid is not modelled`);
  return m?.[1] ?? '';
}

// pjsip show ... (res_pjsip_cli.h: CLI_LAST_TABSTOP 62, CLI_INDENT_TO_SPACES(x) = x*2+9) --------

/** printf("%-*.*s", width, precision, s) */
const padRight = (s: string, w: number, p?: number) => s.slice(0, p).padEnd(w);

/** `<name>:  ` indented to `level`. */
const label = (level: number, name: string) => `${name.padStart(level * 2 + 9)}:  `;

/** `<Aor> <MaxContact>` and its contacts, indented to `level`. */
function aorLines(a: Aor, contacts: Contact[], level: number): string {
  const width = 41 - level * 2;
  const own = contactsOf(a.id, contacts).map((c) => contactLine(c, level + 1));
  return `${label(level, 'Aor')}${padRight(a.id, width, width)} ${String(a.maxContacts).padStart(12)}\n${own.join('')}`;
}

/** `pjsip show endpoints|aors|auths|contacts`; `dir` is the state directory. */
function showListing(kind: keyof typeof HEADERS, dir: string): string {
  const state = readPjsip(dir);
  const contacts = readContacts(dir);
  const auths = new Map(state.auth.map((a) => [a.id, a]));
  const aors = new Map(state.aor.map((a) => [a.id, a]));
  const endpoint = (e: Endpoint) => {
    const name = padRight(e.number ? `${e.id}/${e.number}` : e.id, 51, 51);
    // Only referenced objects that are loaded are shown; a missing one leaves no line.
    const loaded = e.aors.flatMap((id) => aors.get(id) ?? []);
    // Reachable while a contact is not Unavail, the same word as for no contact otherwise.
    const up = loaded.some((a) => contacts.some((c) => c.aor === a.id && c.status !== 'Unavail'));
    let out = ` Endpoint:  ${name}  ${padRight(up ? 'Not in use' : 'Unavailable', 12)}  0 of inf\n`;
    for (const a of e.auths.flatMap((id) => auths.get(id) ?? []))
      out += `${label(1, 'InAuth')}${a.id}/${a.username}\n`;
    return `${out}${loaded.map((a) => aorLines(a, contacts, 1)).join('')}\n`;
  };
  const lines = {
    endpoint: () => state.endpoint.map(endpoint),
    aor: () => state.aor.map((a) => `${aorLines(a, contacts, 0)}\n`),
    auth: () => state.auth.map((a) => `${label(0, 'Auth')}${a.id}/${a.username}\n`),
    contact: () => contacts.map((c) => contactLine(c, 0)),
  }[kind]();
  if (lines.length === 0) return NO_OBJECTS;
  const found = `\nObjects found: ${lines.length}\n\n`;
  return `${HEADERS[kind]}${'='.repeat(90)}\n\n${lines.join('')}${found}`;
}

// Registered phones: $FAKE_ASTERISK_STATE/contacts.json (README.md) -------------------------------

type Contact = {
  aor: string;
  uri: string;
  expirationTime: number;
  status: string;
  rttMs: number | null;
  userAgent: string;
  viaAddress: string;
  viaPort: number;
  callId: string;
  endpoint: string;
  qualifyFrequency: number;
};

const STATUSES = ['Avail', 'Unavail', 'NonQual', 'Unknown'];
const UNSET = { userAgent: '', viaAddress: '', viaPort: 0, callId: '', qualifyFrequency: 0 };

/**
 * The registered phones, sorted by id, whatever their expiration_time: a real Asterisk keeps
 * listing a contact past it, and a deleted aor's contact until it expires.
 */
function readContacts(state: string): Contact[] {
  const raw = parse(read(path.join(state, 'contacts.json')) ?? '[]');
  if (!Array.isArray(raw)) throw new Misuse('contacts.json must be an array of contacts');
  return raw
    .map((c: unknown) => {
      if (!isObject(c) || typeof c.aor !== 'string' || typeof c.uri !== 'string')
        throw new Misuse('each contact in contacts.json needs aor and uri strings');
      const id = `contact ${c.aor}/${c.uri}`;
      if (!Number.isInteger(c.expirationTime))
        throw new Misuse(`${id}: expirationTime must be Unix seconds`);
      const status = c.status ?? 'NonQual';
      if (typeof status !== 'string' || !STATUSES.includes(status))
        throw new Misuse(`${id}: status must be one of ${STATUSES.join(', ')}`);
      // As bytes, like every other text here: a User-Agent may hold any UTF-8.
      const bytes = Object.fromEntries(
        Object.entries(c).map(([k, v]) => [k, typeof v === 'string' ? latin1(v) : v]),
      );
      return { rttMs: null, ...UNSET, endpoint: latin1(c.aor), ...bytes, status } as Contact;
    })
    .sort((a, b) => strcmp(`${a.aor}/${a.uri}`, `${b.aor}/${b.uri}`));
}

/**
 * An aor's own contacts as location.c's ast_sip_for_each_contact() gives them: in the order of
 * their stored ids, `<aor>;@<md5 of the URI>` (read from the source; not recorded).
 */
function contactsOf(aor: string, contacts: Contact[]): Contact[] {
  const stored = (c: Contact) => createHash('md5').update(c.uri, 'latin1').digest('hex');
  return contacts.filter((c) => c.aor === aor).sort((a, b) => strcmp(stored(a), stored(b)));
}

/** location.c cli_contact_print_body(), indented to `level`. */
function contactLine(c: Contact, level: number): string {
  const width = 46 - level * 2; // CLI_LAST_TABSTOP less the indent and `:  `
  const rtt = c.rttMs === null ? 'nan' : c.rttMs.toFixed(3);
  const hash = createHash('md5').update(c.uri, 'latin1').digest('hex').slice(0, 10);
  const id = padRight(`${c.aor}/${c.uri}`, width, width);
  return `${label(level, 'Contact')}${id} ${hash} ${padRight(c.status, 7, 7)} ${rtt.padStart(11)}\n`;
}

// `pjsip show aor|contact <id>`: the parameters Asterisk prints, the ones not modelled at their
// defaults, sorted by name (ast_variable_list_sort) under a rule as wide as the widest of each.
const DEFAULTS = {
  aor:
    'authenticate_qualify=false default_expiration=3600 mailboxes= maximum_expiration=7200 ' +
    'minimum_expiration=60 outbound_proxy= qualify_2xx_only=false qualify_timeout=3.000000 ' +
    'remove_unavailable=false support_path=false voicemail_extension=',
  contact:
    'authenticate_qualify=no outbound_proxy= path= prune_on_boot=no qualify_2xx_only=false ' +
    'qualify_timeout=3.000000 reg_server=',
};

function parameters(
  kind: keyof typeof DEFAULTS,
  values: Record<string, string | number | boolean | string[]>,
): string {
  // A list is one line per item (sorcery's list handler); the sort below keeps their order.
  const given = Object.entries(values).flatMap(([n, v]) =>
    Array.isArray(v) ? v.map((item) => [n, item]) : [[n, String(v)]],
  );
  const params = words(DEFAULTS[kind])
    .map((p) => p.split('='))
    .concat(given)
    .sort(([a], [b]) => strcmp(a, b));
  const nameWidth = Math.max(13, ...params.map(([n]) => n.length));
  const valueWidth = Math.max(14, ...params.map(([, v]) => v.length));
  const rows = params.map(([n, v]) => ` ${n.padEnd(nameWidth)} : ${v}\n`).join('');
  return ` ${'ParameterName'.padEnd(nameWidth)} : ParameterValue\n ${'='.repeat(nameWidth + valueWidth + 3)}\n${rows}\n`;
}

/** `pjsip show aor <id>`, `pjsip show contact <aor>/<uri>` (the id exactly as listed). */
function showObject(kind: 'aor' | 'contact', state: string, id: string): string {
  const head = `${HEADERS[kind]}${'='.repeat(90)}\n\n`;
  const notFound = `Unable to find object ${id}.\n\n`;
  if (kind === 'aor') {
    const a = readPjsip(state).aor.find((x) => x.id === id);
    if (!a) return notFound;
    const contacts = readContacts(state);
    // One `contact` line per contact (location.c contacts_to_var_list); with none, the string
    // handler's empty value.
    const uris = contactsOf(id, contacts).map((c) => c.uri);
    const values = {
      contact: uris.length === 0 ? '' : uris,
      max_contacts: a.maxContacts,
      qualify_frequency: a.qualifyFrequency,
      remove_existing: a.removeExisting,
    };
    return `${head}${aorLines(a, contacts, 0)}\n\n${parameters('aor', values)}`;
  }
  const c = readContacts(state).find((x) => `${x.aor}/${x.uri}` === id);
  if (!c) return notFound;
  const values = {
    call_id: c.callId,
    endpoint: c.endpoint,
    expiration_time: c.expirationTime,
    qualify_frequency: c.qualifyFrequency, // copied from the aor at REGISTER time
    uri: c.uri,
    user_agent: c.userAgent,
    via_addr: c.viaAddress,
    via_port: c.viaPort,
  };
  return `${head}${contactLine(c, 0)}\n${parameters('contact', values)}`;
}

// pbx_config: dialplan reload / dialplan show ---------------------------------------------------

function reloadDialplan(ctx: Ctx): void {
  const categories = loadConfig(ctx.etc, 'extensions.conf');
  if (categories === null) return; // pbx_load_config() failed: the old dialplan stays
  const contexts = new Map<string, Extension[]>(); // each context's extensions
  for (const { name, vars } of categories) {
    if (!/^(general|globals)$/i.test(name))
      contexts.set(name, loadContext(contexts.get(name) ?? [], vars));
  }
  // pbx.c ext_cmp(): plain extensions before patterns, '-' ignored, then byte order.
  const key = (e: Extension) => `${e.exten[0] === '_' ? 1 : 0}${e.exten.replaceAll('-', '')}`;
  const kept = (e: Extension) => !ctx.faults.dropExtensions.includes(e.exten);
  const state = [...contexts].map(([name, extens]) => ({
    name,
    extens: extens.filter(kept).sort((a, b) => strcmp(key(a), key(b))),
  }));
  writeJson(path.join(ctx.state, 'dialplan.json'), state);
}

/**
 * pbx_load_config() for one category: its exten and same lines, with the quirks for broken ones.
 * Priorities are numbers or n/next/s/same; labels, offsets, hints, caller ID matches and
 * escaped or bracketed commas are not modelled.
 */
function loadContext(extensions: Extension[], vars: Variable[]): Extension[] {
  let [lastExtension, lastPri] = ['', -2];
  for (const { name, value, file, line } of vars) {
    const lname = name.toLowerCase();
    // include, switch...: not extensions
    if (lname !== 'exten' && (!lname.startsWith('same') || lastExtension === '')) continue;
    const [exten, rest] = lname === 'exten' ? atComma(value) : [lastExtension, value];
    lastExtension = exten;
    const [pri, appl] = atComma(rest).map((x, i) => (i === 0 ? cstrip(x) : x));
    if (/[/[\\]/.test(exten) || /[()+]/.test(pri) || pri === 'hint')
      throw new Misuse(`${file}:${line}: this extension or priority is not modelled`);
    const next = /^(n|next|s|same)$/.test(pri);
    const prio = next ? lastPri + (pri[0] === 'n' ? 1 : 0) : parseInt(pri, 10); // sscanf %d
    if (next ? lastPri <= -2 : !(prio >= 1)) continue; // "Invalid priority/label", or 'n' first
    // app(data); a missing ')' is silently supplied ("No closing parenthesis found?")
    const paren = /\$[{[]/.test(appl.split('(')[0]) ? -1 : appl.indexOf('(');
    const data = paren < 0 ? '' : appl.slice(paren + 1).replace(/\)[^)]*$/, '');
    const app = (paren < 0 ? appl : appl.slice(0, paren)).replace(/^[ \t\n\v\f\r]+/, '');
    lastPri = prio;
    const ext = extensions.find((e) => e.exten === exten);
    const { prios } = ext ?? extensions[extensions.push({ exten, prios: [] }) - 1];
    if (prios.some((p) => p.prio === prio)) continue; // "Unable to register extension": refused
    prios.push({ prio, app, data, file: path.basename(file), line });
    prios.sort((a, b) => a.prio - b.prio);
  }
  return extensions;
}

/** At the first comma: [before, after], after '' when there is none. */
function atComma(s: string): [string, string] {
  const i = s.indexOf(',');
  return i < 0 ? [s, ''] : [s.slice(0, i), s.slice(i + 1)];
}

function showDialplan(ctx: Ctx, name: string | undefined, command: string): string {
  const text = read(path.join(ctx.state, 'dialplan.json')) ?? '[]';
  const shown = (parse(text) as { name: string; extens: Extension[] }[]).filter(
    (c) => name === undefined || c.name === name,
  );
  if (shown.length === 0 && name !== undefined)
    return `There is no existence of '${name}' context\nCommand '${command}' failed.\n`;
  let out = '';
  for (const c of shown) {
    out += `[ Context '${c.name}' created by 'pbx_config' ]\n`;
    for (const { exten, prios } of c.extens) {
      for (const [i, p] of prios.entries()) {
        const step = padRight(`${p.prio}. ${p.app}(${p.data})`, 45);
        out += `  ${padRight(i === 0 ? `'${exten}' =>` : '', 17)} ${step} [${p.file}:${p.line}]\n`;
      }
    }
    out += '\n';
  }
  const plural = (items: unknown[], one: string, many = `${one}s`) =>
    `${items.length} ${items.length === 1 ? one : many}`;
  const extensions = shown.flatMap((c) => c.extens);
  const prios = extensions.flatMap((e) => e.prios);
  const counts = `${plural(extensions, 'extension')} (${plural(prios, 'priority', 'priorities')})`;
  return `${out}-= ${counts} in ${plural(shown, 'context')}. =-\n`;
}

main(process.argv.slice(2)).then(
  ({ code, stdout, stderr }) => {
    process.stderr.write(stderr);
    process.stdout.write(Buffer.from(stdout, 'latin1'));
    process.exitCode = code;
  },
  (err: unknown) => {
    const why =
      err instanceof Misuse ? err.message : err instanceof Error ? err.stack : String(err);
    process.stderr.write(`fake asterisk: ${why}\n`);
    process.exitCode = 2;
  },
);
