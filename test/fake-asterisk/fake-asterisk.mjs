// @ts-check
/*
 * The fake `asterisk -rx "<command>"` of Asterisk 22.7.0 (README.md beside this file). One run
 * is one call; `asterisk` beside this file starts it. Text is handled as latin1 strings, one
 * character per byte, so padding, truncation and sorting work on bytes like the C code (printf
 * widths, strcmp) and UTF-8 passes through untouched.
 */
import fs from 'node:fs';
import path from 'node:path';

/** @typedef {{ down: boolean, reloadInProgress: number, delayMs: Record<string, number>, rejectObjects: string[], dropExtensions: string[] }} Faults */
/** @typedef {{ etc: string, state: string, faults: Faults, key: string }} Ctx */
/** @typedef {{ id: string, number: string, auths: string[], outboundAuths: string[], aors: string[] }} Endpoint */
/** @typedef {{ id: string, username: string }} Auth */
/** @typedef {{ id: string, maxContacts: number }} Aor */
/** @typedef {{ endpoint: Endpoint[], auth: Auth[], aor: Aor[] }} Pjsip */
/** @typedef {{ prio: number, label: string | null, app: string, data: string, file: string, line: number }} Priority */
/** @typedef {{ exten: string, cid: string | null, prios: Priority[] }} Extension */
/** @typedef {{ name: string, value: string, file: string, line: number }} Variable */

const DOWN = 'Unable to connect to remote asterisk (does /var/run/asterisk/asterisk.ctl exist?)\n';
const IN_PROGRESS = 'A module reload request is already in progress; please be patient\n';
const NO_OBJECTS = 'No objects found.\n\n';
const HINT = -1; // the priority of a hint
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
};
// The commands it knows of, "<words>: <last words>": only for what an unknown one is told.
const COMMANDS = `core show: help version uptime channels settings; core: reload; core restart: now;
core stop: now; core set: verbose debug; module: load unload reload show refresh; dialplan: reload
show save; dialplan add: extension include; dialplan remove: extension include; dialplan set:
global; dialplan show: globals chanvar; pjsip show: endpoints endpoint aors aor auths auth contacts
contact transports transport registrations identifies channels channel settings version history
subscriptions unidentified_requests; pjsip list: endpoints aors auths contacts transports channels;
pjsip: reload qualify; pjsip set: logger history; pjsip send: notify register unregister; channel:
originate; channel request: hangup; logger: reload rotate; database: show put get del; manager
show: connected; manager: reload; http show: status; bridge show: all; cdr show: status; config:
list reload`;
const KNOWN_PREFIXES = new Set(
  COMMANDS.split(/;\s*/).flatMap((group) => {
    const [start, last] = group.split(/:\s*/);
    return words(last).flatMap((w) =>
      [...words(start), w].map((_w, i, all) => all.slice(0, i + 1).join(' ')),
    );
  }),
);

/** A mistake in driving the fake (environment, faults.json, a config it does not model): exit 2. */
class Misuse extends Error {}
/** The state directory vanished while a delayed command waited: the test is gone. */
class Abandoned extends Error {}

/** @param {unknown} err */
const errno = (err) =>
  err instanceof Error ? /** @type {NodeJS.ErrnoException} */ (err).code : '';
/** @param {string} s */
function words(s) {
  return s.split(/[ \t\n\r\v\f]+/).filter((w) => w !== '');
}
/** @param {string} s */
const cstrip = (s) => s.replace(/^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g, '');
/** @param {string} s */
const list = (s) => s.split(',').flatMap((x) => cstrip(x) || []);
/** @param {string} a @param {string} b */
const strcmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
/** @param {string} text @returns {unknown} */
const parse = (text) => JSON.parse(text);
/** @param {string} file @param {BufferEncoding} [encoding] @returns {string | null} null when missing */
function read(file, encoding = 'utf8') {
  try {
    return fs.readFileSync(file, encoding);
  } catch (err) {
    if (errno(err) === 'ENOENT') return null;
    throw err;
  }
}
/** Replaces the file atomically: a reader sees the old or the new text. @param {string} file @param {unknown} value */
function writeJson(file, value) {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, JSON.stringify(value));
  fs.renameSync(tmp, file);
}

/** One call: argv (decoded from UTF-8 by node) in; exit code, stdout and stderr out. @param {string[]} args */
async function main(args) {
  // getopt: -rx cmd, -r -x cmd, -xcmd; other flags are accepted and ignored.
  const at = args.findIndex((a) => /^-[^-C]*x/.test(a));
  const raw = at < 0 ? undefined : args[at].slice(args[at].indexOf('x') + 1) || args[at + 1];
  if (raw === undefined)
    throw new Misuse('usage: asterisk -rx "<command>" (nothing else is emulated)');
  const [etc, state] = ['FAKE_ASTERISK_ETC', 'FAKE_ASTERISK_STATE'].map((name) => {
    if (!process.env[name])
      throw new Misuse(`${name} is not set (see test/fake-asterisk/README.md)`);
    return path.resolve(process.env[name]);
  });
  fs.mkdirSync(state, { recursive: true });
  const { faults } = readFaults(state);
  if (faults.down) return { code: 1, stdout: '', stderr: DOWN };
  const ctx = { etc, state, faults, key: words(raw).join(' ') };
  // Back to bytes, so that the output echoes them unchanged.
  return { code: 0, stdout: await execute(Buffer.from(raw).toString('latin1'), ctx), stderr: '' };
}

// faults.json -----------------------------------------------------------------------------------

/** @param {unknown} v @returns {v is Record<string, unknown>} */
const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
/** @param {unknown} v */
const strings = (v) => Array.isArray(v) && v.every((s) => typeof s === 'string');
/** @type {Record<string, [(v: unknown) => boolean, string]>} */
const FAULT_CHECKS = {
  down: [(v) => typeof v === 'boolean', 'true or false'],
  reloadInProgress: [(v) => Number.isInteger(v) && Number(v) >= 0, 'a non-negative integer'],
  delayMs: [
    (v) => isObject(v) && Object.values(v).every((ms) => typeof ms === 'number' && ms >= 0),
    'an object of commands and milliseconds >= 0',
  ],
  rejectObjects: [strings, 'strings'],
  dropExtensions: [strings, 'strings'],
};

/** @param {string} state @param {string | null} [text] the file, when read already */
function readFaults(state, text = read(path.join(state, 'faults.json'))) {
  const file = path.join(state, 'faults.json');
  /** @type {unknown} */
  let raw = {};
  try {
    if (text && text.trim() !== '') raw = parse(text);
  } catch (err) {
    throw new Misuse(`${file} is not valid JSON: ${err instanceof Error ? err.message : ''}`);
  }
  if (!isObject(raw)) throw new Misuse(`${file}: must be a JSON object`);
  const known = Object.keys(FAULT_CHECKS);
  for (const [key, v] of Object.entries(raw)) {
    if (!known.includes(key))
      throw new Misuse(`${file}: unknown key "${key}" (known: ${known.join(', ')})`);
    if (!FAULT_CHECKS[key][0](v))
      throw new Misuse(`${file}: ${key} must be ${FAULT_CHECKS[key][1]}`);
  }
  const f = /** @type {Partial<Faults>} */ (raw);
  const faults = { down: false, reloadInProgress: 0, rejectObjects: [], dropExtensions: [], ...f };
  /** @type {Record<string, number>} */
  const delayMs = {}; // by the command's words, as the command is looked up
  for (const [command, ms] of Object.entries(f.delayMs ?? {}))
    delayMs[words(command).join(' ')] = ms;
  return { raw, faults: /** @type {Faults} */ ({ ...faults, delayMs }) };
}

/**
 * Waits out the command's delayMs, counted from its start. faults.json is read again meanwhile:
 * once the entry (or the file) is gone, the command answers at once, as a healed Asterisk would.
 * @param {Ctx} ctx
 */
async function delay(ctx) {
  const started = Date.now();
  const delayOf = (/** @type {Faults} */ f) =>
    Object.hasOwn(f.delayMs, ctx.key) ? f.delayMs[ctx.key] : 0;
  for (let ms = delayOf(ctx.faults); Date.now() - started < ms;) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(ms - (Date.now() - started), 100)));
    if (!fs.existsSync(ctx.state)) throw new Abandoned();
    try {
      const text = read(path.join(ctx.state, 'faults.json'));
      if (text?.trim() !== '') ms = text === null ? 0 : delayOf(readFaults(ctx.state, text).faults);
    } catch {
      // Empty, half written or broken: the delay stays, and the next command reports it.
    }
  }
}

// Commands --------------------------------------------------------------------------------------

/** @param {string} command @param {Ctx} ctx @returns {Promise<string>} */
async function execute(command, ctx) {
  const w = words(command).map((x) => x.toLowerCase());
  const line = w.join(' '); // no word holds a space: a pattern on the line matches words
  if (w.length === 0) return '';
  if (/^module reload( |$)/.test(line)) return moduleReload(words(command).slice(2), ctx);
  await delay(ctx);
  if (line === 'dialplan reload') {
    reloadDialplan(ctx);
    return 'Dialplan reloaded.\n';
  }
  const pjsip = /^pjsip show (endpoint|aor|auth|contact)s$/.exec(line);
  if (pjsip) {
    const loaded = readPjsip(ctx.state);
    return pjsip[1] === 'contact'
      ? NO_OBJECTS
      : showPjsip(/** @type {keyof Pjsip} */ (pjsip[1]), loaded); // no phone registers
  }
  if (/^dialplan show( [^ ]+)?$/.test(line)) return showDialplan(ctx, words(command)[2], command);
  // cli.c find_best(): the words up to and including the first that no command continues with.
  const best = w.findIndex((_w, i) => !KNOWN_PREFIXES.has(w.slice(0, i + 1).join(' ')));
  const tried = w.slice(0, best < 0 ? w.length : best + 1).join(' ');
  return `No such command '${command}' (type 'core show help ${tried}' for other possible commands)\n`;
}

/** @param {string[]} names @param {Ctx} ctx */
async function moduleReload(names, ctx) {
  // With no name, everything is reloaded and nothing printed, even when refused.
  const refused = names.length === 0 ? '' : IN_PROGRESS;
  const lock = path.join(ctx.state, 'reload.lock');
  if (!takeLock(lock)) return refused;
  try {
    const { raw, faults } = readFaults(ctx.state);
    if (faults.reloadInProgress > 0) {
      writeJson(path.join(ctx.state, 'faults.json'), {
        ...raw,
        reloadInProgress: faults.reloadInProgress - 1,
      });
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
 * @param {string} lock
 */
function takeLock(lock) {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
      return true;
    } catch (err) {
      if (errno(err) !== 'EEXIST') throw err;
    }
    const pid = Number(read(lock) ?? NaN); // NaN: released meanwhile; 0: being written
    try {
      if (pid >= 0 && process.kill(pid, 0)) return false; // alive (0 is our own group)
    } catch (err) {
      if (errno(err) !== 'ESRCH') return false;
      fs.rmSync(lock, { force: true }); // left by a killed process
    }
  }
  return false;
}

// Config files (main/config.c) ------------------------------------------------------------------

/**
 * The categories of `name` and of the files it includes, in order; null when it is missing or
 * invalid: the module then keeps what it had loaded.
 * @param {string} etc @param {string} name
 */
function loadConfig(etc, name) {
  /** @type {{ name: string, vars: Variable[] }[]} */
  const categories = [];
  let current = categories.at(-1);
  /** @param {string} pattern @param {number} level @returns {boolean} false: none matched, or one was invalid */
  const load = (pattern, level) => {
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
 * @param {string} pattern absolute
 */
function expandGlob(pattern) {
  const [dir, base] = [path.dirname(pattern), path.basename(pattern)];
  if (/[*?[]/.test(dir) || base.includes('['))
    throw new Misuse(`${pattern}: this glob is not modelled`);
  const isFile = (/** @type {string} */ f) => fs.existsSync(f) && fs.statSync(f).isFile();
  if (!/[*?]/.test(base)) return isFile(pattern) ? [pattern] : [];
  const glob = base.replace(/[.+^${}()|\\\]]/g, '\\$&');
  const re = new RegExp(`^${glob.replaceAll('*', '.*').replaceAll('?', '.')}$`, 's');
  const names = isFile(dir) || !fs.existsSync(dir) ? [] : fs.readdirSync(dir);
  const hits = names.filter((n) => (base[0] === '.' || n[0] !== '.') && re.test(n));
  return hits
    .map((n) => path.join(dir, n))
    .filter(isFile)
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

// res_pjsip: the sorcery config wizard over pjsip.conf ------------------------------------------

/** strtoul(v, &end, 0) as ast_parse_arg(PARSE_UINT32) uses it; null when rejected. @param {string} v */
function parseUint(v) {
  const m = /^\+?(?:0[xX]([0-9a-fA-F]+)|(0[0-7]*)|([1-9][0-9]*))$/.exec(v);
  const n = !m ? NaN : m[1] ? parseInt(m[1], 16) : m[2] ? parseInt(m[2], 8) : Number(m[3]);
  return n <= 0xffffffff ? n : null;
}

const CODECS = `all ulaw alaw gsm g722 g723 g726 g726aal2 g729 ilbc lpc10 speex speex16 speex32 slin
slin12 slin16 slin24 slin32 slin44 slin48 slin96 slin192 opus siren7 siren14 testlaw adpcm codec2
silk silk8 silk12 silk16 silk24 g719 h261 h263 h263p h264 h265 mpeg4 vp8 vp9 t140 t140red red jpeg
png`.split(/\s+/);
const DIGESTS = new Map(Object.entries({ md5: 32, 'sha-256': 64, 'sha-512-256': 64 }));
/** @typedef {(v: string) => boolean} Check */
/** @type {Check} */
const uint = (v) => parseUint(v) !== null;
/** @type {Check} */
const codecs = (v) =>
  list(v).every((c) => CODECS.includes(c.split(':')[0].toLowerCase().replace(/^!/, '')));
/** @type {Check} */
const algorithms = (v) => list(v).every((a) => DIGESTS.has(a.toLowerCase()));
/** @param {RegExp} re @returns {Check} */
const matches = (re) => (v) => re.test(v);
/** @param {string} names @param {Check} check @returns {[string, Check][]} */
const all = (names, check = () => true) => words(names).map((n) => [n, check]);

// The options Asterisk 22 knows, with a check where a bad value makes the object fail. An
// unknown option fails the object too, as in sorcery.
const OPTIONS = {
  endpoint: new Map([
    ...all(`context auth outbound_auth aors callerid 100rel aggregate_mwi allow_overlap
callerid_privacy callerid_tag direct_media_glare_mitigation direct_media_method
trust_connected_line send_connected_line connected_line_method direct_media
disable_direct_media_on_nat force_rport ice_support identify_by redirect_method mailboxes
mwi_subscribe_replaces_unsolicited voicemail_extension moh_suggest outbound_proxy rewrite_contact
rtp_ipv6 rtp_symmetric send_diversion send_history_info send_pai send_rpid rpid_immediate timers
transport trust_id_inbound trust_id_outbound use_ptime use_avpf force_avp
media_use_received_transport media_encryption_optimistic g726_non_standard inband_progress
call_group pickup_group named_call_group named_pickup_group t38_udptl t38_udptl_ec
t38_udptl_maxdatagram fax_detect fax_detect_timeout t38_udptl_nat t38_udptl_ipv6
t38_bind_udptl_to_media_address tone_zone language one_touch_recording record_on_feature
record_off_feature rtp_engine allow_transfer user_eq_phone moh_passthrough sdp_owner sdp_session
tos_audio tos_video cos_audio cos_video allow_subscribe from_user mwi_from_user from_domain
dtls_verify dtls_rekey dtls_auto_generate_cert dtls_cert_file dtls_private_key dtls_cipher
dtls_ca_file dtls_ca_path dtls_setup dtls_fingerprint srtp_tag_32 set_var message_context
accountcode preferred_codec_only acl deny permit contact_acl contact_deny contact_permit
subscribe_context contact_user asymmetric_rtp_codec rtcp_mux refer_blind_progress
notify_early_inuse_ringing bundle webrtc incoming_mwi_mailbox follow_early_media_fork
accept_multiple_sdp_answers suppress_q850_reason_headers ignore_183_without_sdp stir_shaken
stir_shaken_profile allow_unauthenticated_options geoloc_incoming_call_profile
geoloc_outgoing_call_profile security_negotiation security_mechanisms send_aoc
codec_prefs_incoming_offer codec_prefs_outgoing_offer codec_prefs_incoming_answer
codec_prefs_outgoing_answer overlap_context tenantid suppress_moh_on_sendonly
incoming_call_offer_pref outgoing_call_offer_pref media_address bind_rtp_to_media_address`),
    ...all(
      `device_state_busy_at timers_min_se timers_sess_expires rtp_timeout rtp_timeout_hold
rtp_keepalive max_audio_streams max_video_streams sub_min_expiry`,
      uint,
    ),
    ...all('disallow allow', codecs),
    ['dtmf_mode', matches(/^(rfc4733|inband|info|auto|auto_info)$/i)],
    ['media_encryption', matches(/^(no|sdes|dtls)$/i)],
  ]),
  auth: new Map([
    // password_digest and md5_cred are checked as a whole in buildObject
    ...all(
      'username password password_digest md5_cred realm refresh_token oauth_clientid oauth_secret',
    ),
    ...all('supported_algorithms_uas supported_algorithms_uac', algorithms),
    ['auth_type', matches(/^(digest|userpass|md5|google_oauth)$/i)],
    ['nonce_lifetime', uint],
  ]),
  aor: new Map([
    ...all(`remove_existing remove_unavailable authenticate_qualify support_path qualify_2xx_only
contact mailboxes voicemail_extension outbound_proxy`),
    ...all(
      'max_contacts default_expiration maximum_expiration minimum_expiration qualify_frequency',
      uint,
    ),
    ['qualify_timeout', matches(/^[0-9]*\.?[0-9]+$/)],
  ]),
};

/** @param {string} state */
const readPjsip = (state) =>
  /** @type {Pjsip} */ (
    parse(read(path.join(state, 'pjsip.json')) ?? '{"endpoint":[],"auth":[],"aor":[]}')
  );

/** @param {Ctx} ctx */
function reloadPjsip(ctx) {
  const categories = loadConfig(ctx.etc, 'pjsip.conf');
  if (categories === null) return; // invalid or missing: everything stays as it was
  const previous = readPjsip(ctx.state);
  /** @type {Record<keyof Pjsip, Map<string, Endpoint | Auth | Aor>>} */
  const loaded = { endpoint: new Map(), auth: new Map(), aor: new Map() };
  for (const { name: id, vars } of categories) {
    const type = vars.find((v) => v.name.toLowerCase() === 'type')?.value;
    if (type !== 'endpoint' && type !== 'auth' && type !== 'aor') continue; // transport...: never listed
    const obj = ctx.faults.rejectObjects.includes(id) ? null : buildObject(type, id, vars);
    // A failed object keeps the version loaded before ("Retaining existing configuration ...").
    const kept = obj ?? [...previous[type]].find((o) => o.id === id);
    loaded[type].delete(id); // a later category with the same id replaces the earlier one
    if (kept) loaded[type].set(id, kept);
  }
  const state = Object.entries(loaded).map(([type, objects]) => [type, [...objects.values()]]);
  writeJson(path.join(ctx.state, 'pjsip.json'), Object.fromEntries(state));
}

/**
 * The object, or null when an option is unknown or a value bad ("Error parsing ...").
 * @param {keyof Pjsip} type @param {string} id @param {Variable[]} vars @returns {Endpoint | Auth | Aor | null}
 */
function buildObject(type, id, vars) {
  /** @type {Record<string, string>} */
  const f = {};
  for (const { name, value } of vars) {
    const option = name.toLowerCase();
    if (option === 'type' || option.startsWith('@')) continue;
    if (!OPTIONS[type].get(option)?.(value)) return null;
    f[option] = value; // the last value of an option wins
  }
  if (type === 'aor') return { id, maxContacts: parseUint(f.max_contacts ?? '0') ?? 0 };
  if (type === 'endpoint') {
    const [auths, outboundAuths, aors] = [f.auth, f.outbound_auth, f.aors].map((v) =>
      list(v ?? ''),
    );
    return { id, number: callerIdNumber(f.callerid ?? ''), auths, outboundAuths, aors };
  }
  if (f.md5_cred !== undefined && f.md5_cred.length !== 32) return null;
  for (const digest of f.password_digest?.split(',') ?? []) {
    const m = /^([^:]*):([0-9a-fA-F]*)$/.exec(cstrip(digest));
    if (!m || DIGESTS.get(m[1].toLowerCase()) !== m[2].length) return null;
  }
  return { id, username: f.username ?? '' };
}

/** callerid.c ast_callerid_split(): the number part, shrunk; '' when there is none. @param {string} value */
function callerIdNumber(value) {
  const quoted = /^".*"$/s.test(cstrip(value));
  const instr = quoted ? cstrip(value).slice(1, -1) : cstrip(value);
  const ls = instr.lastIndexOf('<');
  const number = shrinkPhoneNumber(ls < 0 ? instr : instr.slice(ls + 1).replace(/>[^>]*$/, ''));
  return ls >= 0 || (!quoted && /^[0-9#*+]+$/.test(number)) ? number.slice(0, 79) : '';
}

/** callerid.c ast_shrink_phone_number(): no ( ) or spaces, '-' only in [...], '.' only last. @param {string} n */
function shrinkPhoneNumber(n) {
  let [out, bracketed] = ['', 0];
  for (const [x, c] of [...n].entries()) {
    bracketed += c === '[' ? 1 : c === ']' ? -1 : 0;
    if (!'( )'.includes(c) && (c !== '-' || bracketed) && (c !== '.' || x === n.length - 1))
      out += c;
  }
  return out;
}

// pjsip show ... (res_pjsip_cli.h: CLI_LAST_TABSTOP 62, CLI_INDENT_TO_SPACES(x) = x*2+9) --------

/** printf("%-*.*s", width, precision, s) @param {string} s @param {number} width @param {number} [precision] */
const padRight = (s, width, precision) => s.slice(0, precision).padEnd(width);

/** @param {keyof Pjsip} kind @param {Pjsip} state */
function showPjsip(kind, state) {
  const aor = (/** @type {Aor} */ a, width = 41) =>
    `${padRight(a.id, width, width)} ${String(a.maxContacts).padStart(12)}\n`;
  const auth = (/** @type {Auth} */ a) => `${a.id}/${a.username}\n`;
  const [auths, aors] = [
    new Map(state.auth.map((a) => [a.id, a])),
    new Map(state.aor.map((a) => [a.id, a])),
  ];
  /** @param {Endpoint} e */
  const endpoint = (e) => {
    let out = ` Endpoint:  ${padRight(e.number ? `${e.id}/${e.number}` : e.id, 51, 51)}  Unavailable   0 of inf\n`;
    // Only referenced objects that are loaded are shown; a missing one leaves no line.
    for (const a of e.outboundAuths.flatMap((id) => auths.get(id) ?? []))
      out += `    OutAuth:  ${auth(a)}`;
    for (const a of e.auths.flatMap((id) => auths.get(id) ?? [])) out += `     InAuth:  ${auth(a)}`;
    for (const a of e.aors.flatMap((id) => aors.get(id) ?? []))
      out += `        Aor:  ${aor(a, 39)}`;
    return `${out}\n`;
  };
  const byId = (/** @type {{ id: string }} */ a, /** @type {{ id: string }} */ b) =>
    strcmp(a.id, b.id);
  const lines =
    kind === 'endpoint'
      ? [...state.endpoint].sort(byId).map(endpoint)
      : kind === 'aor'
        ? [...state.aor].sort(byId).map((a) => `      Aor:  ${aor(a)}\n`)
        : [...state.auth].sort(byId).map((a) => `     Auth:  ${auth(a)}`);
  if (lines.length === 0) return NO_OBJECTS;
  return `${HEADERS[kind]}${'='.repeat(90)}\n\n${lines.join('')}\nObjects found: ${lines.length}\n\n`;
}

// pbx_config: dialplan reload / dialplan show ---------------------------------------------------

/** @param {Ctx} ctx */
function reloadDialplan(ctx) {
  const categories = loadConfig(ctx.etc, 'extensions.conf');
  if (categories === null) return; // pbx_load_config() failed: the old dialplan stays
  /** @type {Map<string, Extension[]>} each context's extensions */
  const contexts = new Map();
  for (const { name, vars } of categories) {
    if (!/^(general|globals)$/i.test(name))
      contexts.set(name, loadContext(contexts.get(name) ?? [], vars));
  }
  // pbx.c ext_cmp(): plain extensions before patterns, '-' ignored, then byte order; then the CID.
  const key = (/** @type {Extension} */ e) =>
    `${e.exten[0] === '_' ? 1 : 0}${e.exten.replaceAll('-', '')}\0${e.cid ?? ''}`;
  const kept = (/** @type {Extension} */ e) => !ctx.faults.dropExtensions.includes(e.exten);
  const state = [...contexts].map(([name, extens]) => ({
    name,
    extens: extens.filter(kept).sort((a, b) => strcmp(key(a), key(b))),
  }));
  writeJson(path.join(ctx.state, 'dialplan.json'), state);
}

/**
 * pbx_load_config() for one category: its exten and same lines, with the quirks for broken ones.
 * @param {Extension[]} extensions @param {Variable[]} vars
 */
function loadContext(extensions, vars) {
  let [lastExtension, lastPri] = ['', -2];
  for (const { name, value, file, line } of vars) {
    const lname = name.toLowerCase();
    if (lname !== 'exten' && (!lname.startsWith('same') || lastExtension === '')) continue; // include...
    const [realext, rest] = lname === 'exten' ? pbxStrsep(value) : [lastExtension, value];
    lastExtension = realext;
    const slash = realext.indexOf('/'); // exten/cid: a caller ID match
    const [exten, cid] =
      slash < 0
        ? [realext, null]
        : [realext.slice(0, slash), shrinkPhoneNumber(realext.slice(slash + 1))];
    const comma = rest?.indexOf(',') ?? -1;
    const pri = cstrip(rest === null ? '' : comma < 0 ? rest : rest.slice(0, comma));
    const appl = rest === null || comma < 0 ? '' : rest.slice(comma + 1);
    // priority(label)+offset
    const [open, close] = [pri.indexOf('('), pri.indexOf(')', pri.indexOf('(') + 1)];
    if (open >= 0 && close < 0) continue; // "Label missing trailing ')'"
    const [base, plus] = (open < 0 ? pri : pri.slice(0, open)).split(/\+(.*)/s);
    const ext = extensions.find((e) => e.exten === exten && e.cid === cid);
    const next = /^(n|next|s|same)$/.test(base);
    const labelled = ext?.prios.find((p) => p.label === base)?.prio ?? -1;
    let prio =
      base === 'hint'
        ? HINT
        : next
          ? lastPri + (base[0] === 'n' ? 1 : 0)
          : (scanInt(base) ?? labelled);
    if (next ? lastPri <= -2 : prio < 1 && base !== 'hint') continue; // "Invalid priority/label", 'n' first
    // app(data); a missing ')' is silently supplied ("No closing parenthesis found?")
    const paren = /\$[{[]/.test(appl.split('(')[0]) ? -1 : appl.indexOf('(');
    const data = paren < 0 ? '' : appl.slice(paren + 1).replace(/\)[^)]*$/, '');
    const app = (paren < 0 ? appl : appl.slice(0, paren)).replace(/^[ \t\n\v\f\r]+/, '');
    lastPri = prio += plus === undefined ? 0 : scanInt(plus) || 0;
    const { prios } = ext ?? extensions[extensions.push({ exten, cid, prios: [] }) - 1];
    if (prios.some((p) => p.prio === prio)) continue; // "Unable to register extension": refused
    const label = open < 0 ? null : pri.slice(open + 1, close);
    prios.push({ prio, label, app, data, file: path.basename(file), line });
    prios.sort((a, b) => a.prio - b.prio);
  }
  return extensions;
}

/** sscanf("%30d"): leading blanks, a sign, digits; null when there are no digits. @param {string} s */
function scanInt(s) {
  const m = /^[ \t\n\v\f\r]*([+-]?[0-9]{1,29})/.exec(s);
  return m ? parseInt(m[1], 10) : null;
}

/**
 * pbx_config.c pbx_strsep() at ',': not inside [...] and not after a backslash; the rest is
 * null when there is no comma or nothing after it.
 * @param {string} s @returns {[string, string | null]}
 */
function pbxStrsep(s) {
  for (let i = 0, square = 0; i < s.length; i++) {
    if (s[i] === '[') square++;
    else if (s[i] === ']') square = Math.max(0, square - 1);
    else if (s[i] === '\\') i++;
    else if (s[i] === ',' && !square) return [s.slice(0, i), s.slice(i + 1) || null];
  }
  return [s, null];
}

/** @param {Ctx} ctx @param {string | undefined} name @param {string} command */
function showDialplan(ctx, name, command) {
  const text = read(path.join(ctx.state, 'dialplan.json')) ?? '[]';
  const shown = /** @type {{ name: string, extens: Extension[] }[]} */ (parse(text)).filter(
    (c) => name === undefined || c.name === name,
  );
  if (shown.length === 0 && name !== undefined)
    return `There is no existence of '${name}' context\nCommand '${command}' failed.\n`;
  let out = '';
  for (const c of shown) {
    out += `[ Context '${c.name}' created by 'pbx_config' ]\n`;
    for (const { exten, cid, prios } of c.extens) {
      for (const [i, p] of prios.entries()) {
        const head = cid === null ? `'${exten}' =>` : `'${exten}' (CID match '${cid}') => `;
        const step = p.prio === HINT ? `hint: ${p.app}` : `${p.prio}. ${p.app}(${p.data})`;
        const first = i === 0 ? head : p.label === null ? '' : `   [${p.label}]`;
        out += `  ${padRight(first, 17)} ${padRight(step, 45)} [${p.file}:${p.line}]\n`;
      }
    }
    out += '\n';
  }
  const [extensions, priorities] = [
    shown.flatMap((c) => c.extens),
    shown.flatMap((c) => c.extens.flatMap((e) => e.prios)),
  ];
  const plural = (/** @type {unknown[]} */ items, /** @type {string} */ one, many = `${one}s`) =>
    `${items.length} ${items.length === 1 ? one : many}`;
  const counts = `${plural(extensions, 'extension')} (${plural(priorities, 'priority', 'priorities')})`;
  return `${out}-= ${counts} in ${plural(shown, 'context')}. =-\n`;
}

try {
  const { code, stdout, stderr } = await main(process.argv.slice(2));
  process.stderr.write(stderr);
  process.stdout.write(Buffer.from(stdout, 'latin1'));
  process.exitCode = code;
} catch (err) {
  const why = err instanceof Misuse ? err.message : err instanceof Error ? err.stack : String(err);
  if (!(err instanceof Abandoned)) process.stderr.write(`fake asterisk: ${why}\n`);
  process.exitCode = err instanceof Abandoned ? 1 : 2;
}
