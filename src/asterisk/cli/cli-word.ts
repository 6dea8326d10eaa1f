/**
 * One argument of an Asterisk CLI command, written so that Asterisk reads it back whole. The
 * CLI splits its command line itself (main/cli.c, parse_args): a space or tab ends a word
 * outside double quotes, `"` opens and closes quoting, and `\` makes the next character
 * literal. An argument from a listing (a contact id holds what a phone sent) is quoted when it
 * holds any of those; otherwise it goes as it is, as an operator would type it.
 * This is Asterisk's own quoting, inside the one `-rx` argument: a shell, where there is one
 * (SSH), quotes that argument again as a whole.
 */
export function cliWord(arg: string): string {
  // A line break or NUL ends the command in the console protocol: no quoting carries it.
  if (/[\0\r\n]/.test(arg))
    throw new Error(`a CLI argument holds a line break or NUL: ${JSON.stringify(arg)}`);
  if (arg !== '' && !/[ \t"\\]/.test(arg)) return arg;
  return `"${arg.replace(/["\\]/g, '\\$&')}"`;
}
