import { Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { PortalConfig } from '../../config/portal-config.service';

/** Structured JSON logs; each request's line carries its request id. */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [PortalConfig],
      useFactory: (config: PortalConfig) => ({
        pinoHttp: {
          level: config.logLevel,
          // assignRequestId (first middleware) has set it already.
          genReqId: (req: IncomingMessage) => req.id ?? randomUUID(),
          // Tokens and credentials never reach the log.
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
          },
        },
      }),
    }),
  ],
})
export class LoggingModule {}
