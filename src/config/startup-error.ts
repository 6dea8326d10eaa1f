/**
 * A start-up failure an operator can fix: its message is one line saying what is wrong, with
 * the variable to change, and main.ts prints it without a stack trace.
 */
export class StartupError extends Error {
  override name = 'StartupError';

  constructor(message: string) {
    super(message.replace(/\s*[\r\n]+\s*/g, ' ').trim());
  }
}
