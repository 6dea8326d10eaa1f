import { Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PortalConfig } from '../../config/portal-config.service';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Structured JSON logs; each request carries an id (the caller's X-Request-Id when sane). */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [PortalConfig],
      useFactory: (config: PortalConfig) => ({
        pinoHttp: {
          level: config.logLevel,
          genReqId: (req: IncomingMessage, res: ServerResponse) => {
            const given = req.headers['x-request-id'];
            const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
            res.setHeader('X-Request-Id', id);
            return id;
          },
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
