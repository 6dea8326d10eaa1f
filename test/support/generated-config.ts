import { nameIsValid } from './fuzz-arbitraries';

/**
 * The shape of the generated config files, as verified on Asterisk, for suites that check
 * what an apply wrote line by line.
 */

const ENDPOINT_LINES = (n: number): (string | RegExp)[] => [
  `[${n}]`,
  'type=endpoint',
  /^context=[A-Za-z0-9_-]+$/,
  'disallow=all',
  'allow=ulaw,alaw',
  `auth=${n}-auth`,
  `aors=${n}`,
  /^callerid="[^"\\;[\]<>\r\n]*" <\d+>$/u,
  'direct_media=no',
  'rtp_symmetric=yes',
  'force_rport=yes',
  'rewrite_contact=yes',
];
const AUTH_LINES = (n: number): (string | RegExp)[] => [
  `[${n}-auth]`,
  'type=auth',
  'auth_type=digest',
  `username=${n}`,
  /^realm=[A-Za-z0-9.-]+$/,
  /^password_digest=MD5:[0-9a-f]{32},SHA-256:[0-9a-f]{64}$/,
];
const AOR_LINES = (n: number): (string | RegExp)[] => [
  `[${n}]`,
  'type=aor',
  'max_contacts=1',
  'remove_existing=yes',
  'qualify_frequency=60', // the default SIP_QUALIFY_SECONDS
];

/**
 * Checks the body of generated_endpoints.conf line by line against the shape verified on
 * Asterisk: per user an endpoint, an auth and an aor section, nothing else. Returns the
 * callerid name per extension.
 */
export function parseEndpoints(body: string): { names: Map<number, string>; problems: string[] } {
  const names = new Map<number, string>();
  const problems: string[] = [];
  if (body === '') return { names, problems };
  if (!body.endsWith('\n') || body.endsWith('\n\n'))
    problems.push('file does not end in one newline');
  const sections = body.slice(0, -1).split('\n\n');
  if (sections.length % 3 !== 0) problems.push(`${sections.length} sections, not 3 per user`);
  for (let i = 0; i + 2 < sections.length; i += 3) {
    const head = /^\[(\d+)\]\n/.exec(sections[i]);
    if (!head) {
      problems.push(`section ${i} does not start with [N]: ${sections[i].slice(0, 80)}`);
      continue;
    }
    const n = Number(head[1]);
    const shapes = [ENDPOINT_LINES(n), AUTH_LINES(n), AOR_LINES(n)];
    for (const [k, shape] of shapes.entries()) {
      const lines = sections[i + k].split('\n');
      const fits =
        lines.length === shape.length &&
        lines.every((l, j) => {
          const s = shape[j];
          return typeof s === 'string' ? l === s : s.test(l);
        });
      if (!fits) problems.push(`extension ${n}, section ${k}: ${JSON.stringify(lines)}`);
    }
    const callerid = /^callerid="(.*)" <(\d+)>$/u.exec(sections[i].split('\n')[7] ?? '');
    if (!callerid || Number(callerid[2]) !== n || !nameIsValid(callerid[1])) {
      problems.push(`extension ${n}: bad callerid ${sections[i].split('\n')[7]}`);
    } else {
      names.set(n, callerid[1]);
    }
  }
  return { names, problems };
}

/** generated_routing.conf: one context, two lines per extension, nothing else. */
export function parseRouting(body: string): string[] {
  if (body === '') return [];
  const lines = body.split('\n');
  const problems: string[] = [];
  if (lines.pop() !== '') problems.push('file does not end in a newline');
  if (!/^\[[A-Za-z0-9_-]+\]$/.test(lines[0] ?? '')) problems.push(`first line ${lines[0]}`);
  for (let i = 1; i < lines.length; i += 2) {
    const m = /^exten => (\d+),1,Dial\(PJSIP\/(\d+),30\)$/.exec(lines[i]);
    if (!m || m[1] !== m[2] || lines[i + 1] !== ' same => n,Hangup()') {
      problems.push(`line ${i}: ${lines[i]} / ${lines[i + 1]}`);
    }
  }
  return problems;
}
