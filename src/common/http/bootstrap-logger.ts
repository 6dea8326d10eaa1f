import { LoggerService } from '@nestjs/common';
import pino, { Logger } from 'pino';

/**
 * JSON logging from the first line on: Nest logs while the app is assembled, before the
 * request-scoped pino logger exists, and a failed start-up must not switch to coloured text.
 */
export class BootstrapLogger implements LoggerService {
  private readonly pino: Logger;

  constructor(level: string) {
    // Synchronous: these few lines reach stdout in order, before a start-up failure's line on
    // stderr and the exit that follows it.
    this.pino = pino({ level }, pino.destination({ dest: 1, sync: true }));
  }

  private write(
    level: 'info' | 'warn' | 'error' | 'debug' | 'trace' | 'fatal',
    message: unknown,
    rest: unknown[],
  ): void {
    const context =
      typeof rest[rest.length - 1] === 'string' ? (rest[rest.length - 1] as string) : undefined;
    const text = message instanceof Error ? message.message : String(message);
    this.pino[level]({ context }, text);
  }

  log(message: unknown, ...rest: unknown[]): void {
    this.write('info', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('trace', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, rest);
  }
}
