import { cliWord } from './cli-word';

/** main/cli.c parse_args(): the words Asterisk reads from a command line. */
function parseArgs(line: string): string[] {
  const words: string[] = [];
  let [quoted, escaped, space] = [false, false, true];
  for (const ch of line) {
    if (ch === '"' && !escaped) {
      quoted = !quoted;
      if (quoted && space) [space] = [false, words.push('')];
    } else if ((ch === ' ' || ch === '\t') && !(quoted || escaped)) {
      space = true;
    } else if (ch === '\\' && !escaped) {
      escaped = true;
    } else {
      if (space) [space] = [false, words.push('')];
      words[words.length - 1] += ch;
      escaped = false;
    }
  }
  return words;
}

describe('cliWord', () => {
  it('leaves a plain word as it is', () => {
    expect(cliWord('1000/sip:1000@127.0.0.1:5081')).toBe('1000/sip:1000@127.0.0.1:5081');
    expect(cliWord("1042/sip:1042@h;x=$(id)'&!*")).toBe("1042/sip:1042@h;x=$(id)'&!*");
  });

  it.each([
    '1042/sip:1042@127.0.0.1:5491;rinstance=8e9a6d3c7e0e2c3f;x=$(touch /tmp/pwned)\'&"!*',
    'a b\tc',
    '"',
    '\\',
    'x\\"y',
    '',
    ' lead and trail ',
  ])('makes Asterisk read %j back as one word', (arg) => {
    expect(parseArgs(`pjsip show contact ${cliWord(arg)}`)).toEqual([
      'pjsip',
      'show',
      'contact',
      arg,
    ]);
  });

  it('refuses a line break or NUL, which would end the command', () => {
    for (const arg of ['a\nb', 'a\rb', 'a\0b']) expect(() => cliWord(arg)).toThrow(/line break/);
  });
});
