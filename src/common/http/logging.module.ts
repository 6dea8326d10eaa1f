import { Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PortalConfig } from '../../config/portal-config.service';

/** The URL as the client sent it (Express rewrites req.url inside mounted routers). */
const urlOf = (req: IncomingMessage): string =>
  (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '';

/** "POST /users 201 12 ms", the line's message; its fields say the same for a machine. */
function summary(req: IncomingMessage, res: ServerResponse, ms: number): string {
  const outcome = res.writableEnded ? String(res.statusCode) : `${res.statusCode} aborted`;
  return `${req.method} ${urlOf(req)} ${outcome} ${ms} ms`;
}

/**
 * Structured JSON logs. One line per request with its id, method, URL, status and duration
 * (responseTime, in ms): no headers, so neither the Authorization header nor a cookie can
 * reach the log, and a line stays a few hundred bytes rather than carrying every response
 * header. Lines logged while a request runs carry the same small `req`.
 */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [PortalConfig],
      useFactory: (config: PortalConfig) => ({
        pinoHttp: {
          level: config.logLevel,
          // assignRequestId (first middleware) has set it already.
          genReqId: (req: IncomingMessage) => req.id ?? randomUUID(),
          // Tokens and credentials never reach the log, should a body or header be logged.
          redact: {
            paths: [
              'req.headers.authorization',
              'req.headers.cookie',
              '*.sipPassword',
              '*.password',
              '*.md5Digest',
              '*.sha256Digest',
            ],
            censor: '[redacted]',
          },
          serializers: {
            req: (req: { id: unknown; method: string; url: string }) => ({
              id: req.id,
              method: req.method,
              url: req.url,
            }),
            res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
          },
          customSuccessMessage: summary,
          customErrorMessage: (req: IncomingMessage, res: ServerResponse, err: Error) =>
            `${req.method} ${urlOf(req)} ${res.statusCode}: ${err.message}`,
        },
      }),
    }),
  ],
})
export class LoggingModule {}
