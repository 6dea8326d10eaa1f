/**
 * POSIX shell quoting for commands sent over SSH. The exec channel hands its command line to
 * the remote user's shell, so every argument is quoted: inside single quotes nothing is
 * special, and a single quote itself is closed, escaped and reopened (`'\''`).
 */
export function quoteArg(arg: string): string {
  // A NUL byte cannot be part of a command line at all; the shell would cut the argument there.
  if (arg.includes('\0')) throw new Error('an argument contains a NUL byte');
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The command line that runs exactly `argv` (program first), every word quoted. */
export function joinArgv(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('an empty command');
  return argv.map(quoteArg).join(' ');
}
