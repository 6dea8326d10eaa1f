import { execFileSync } from 'node:child_process';
import { joinArgv, quoteArg } from './shell-quote';

/** What /bin/sh makes of the command line: each argument on its own, NUL-separated. */
function shellSplit(line: string): string[] {
  const out = execFileSync('/bin/sh', ['-c', `printf '%s\\0' ${line}`], { encoding: 'utf8' });
  return out.split('\0').slice(0, -1);
}

const HOSTILE = [
  '',
  ' ',
  'plain',
  '$(touch /tmp/pwned)',
  '`touch /tmp/pwned`',
  '; touch /tmp/pwned',
  'a && b || c',
  'a & b',
  'a | b',
  'line one\nline two',
  'tab\there',
  "it's",
  "''",
  "'\\''",
  '"double" quotes',
  '\\backslash\\',
  '$HOME ${HOME} $1 $@ $$',
  '* ? [a-z] ~ ~root',
  '> /tmp/out < /etc/passwd 2>&1',
  '#comment',
  '!history',
  '{a,b}',
  'ünïcödé ☎ 電話 🦜',
  '-rx',
  '--',
];

describe('quoteArg', () => {
  it('wraps in single quotes and escapes a single quote as close-escape-reopen', () => {
    expect(quoteArg('abc')).toBe("'abc'");
    expect(quoteArg('')).toBe("''");
    expect(quoteArg("it's")).toBe(`'it'\\''s'`);
  });

  it.each(HOSTILE.map((s) => [JSON.stringify(s), s]))(
    'the shell reads %s back verbatim',
    (_label, arg) => {
      expect(shellSplit(quoteArg(arg))).toEqual([arg]);
    },
  );

  it('refuses a NUL byte, which no command line can carry', () => {
    expect(() => quoteArg('a\0b')).toThrow('NUL');
  });
});

describe('joinArgv', () => {
  it('keeps every argument a separate word, however hostile', () => {
    expect(shellSplit(joinArgv(HOSTILE))).toEqual(HOSTILE);
  });

  it('quotes the program too', () => {
    expect(joinArgv(['/usr/sbin/asterisk', '-rx', 'pjsip show endpoints'])).toBe(
      "'/usr/sbin/asterisk' '-rx' 'pjsip show endpoints'",
    );
  });

  it('refuses an empty argv', () => {
    expect(() => joinArgv([])).toThrow('empty');
  });
});
