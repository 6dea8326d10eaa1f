import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  HttpStatus,
  Logger,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { requestIdOf } from '../http/request-id';
import { isImportPost, NOT_CSV_OR_JSON, NOT_JSON } from '../http/request-body';
import { DomainError, ErrorCode } from './domain-errors';
import { isConnectionError, withoutValues } from './pg-errors';

/** Each code's one status; a new code does not compile until it has one. */
function statusFor(code: ErrorCode): number {
  switch (code) {
    case 'BAD_REQUEST':
    case 'IMPORT_INVALID':
    case 'WEBHOOK_URL_REFUSED':
      return HttpStatus.BAD_REQUEST;
    case 'UNAUTHORIZED':
      return HttpStatus.UNAUTHORIZED;
    case 'FORBIDDEN':
      return HttpStatus.FORBIDDEN;
    case 'NOT_FOUND':
    case 'USER_NOT_FOUND':
    case 'API_KEY_NOT_FOUND':
    case 'WEBHOOK_NOT_FOUND':
    case 'WEBHOOK_DELIVERY_NOT_FOUND':
      return HttpStatus.NOT_FOUND;
    case 'NOT_ACCEPTABLE':
      return HttpStatus.NOT_ACCEPTABLE;
    case 'DUPLICATE_EMAIL':
    case 'EXTENSION_POOL_EXHAUSTED':
      return HttpStatus.CONFLICT;
    case 'PAYLOAD_TOO_LARGE':
      return HttpStatus.PAYLOAD_TOO_LARGE;
    case 'UNSUPPORTED_MEDIA_TYPE':
      return HttpStatus.UNSUPPORTED_MEDIA_TYPE;
    case 'TOO_MANY_REQUESTS':
      return HttpStatus.TOO_MANY_REQUESTS;
    case 'APPLY_FAILED':
      return HttpStatus.BAD_GATEWAY;
    case 'DATABASE_UNAVAILABLE':
    case 'ASTERISK_UNAVAILABLE':
      return HttpStatus.SERVICE_UNAVAILABLE;
    case 'INTERNAL_ERROR':
      return HttpStatus.INTERNAL_SERVER_ERROR;
  }
}

/**
 * The code for a status that is not a DomainError's: what Nest and the pipes throw (400, the
 * 404 of an unknown route) and body-parser's errors (400, 413, 415).
 */
function codeForStatus(status: number): ErrorCode {
  const codes: Partial<Record<number, ErrorCode>> = {
    400: 'BAD_REQUEST',
    401: 'UNAUTHORIZED',
    403: 'FORBIDDEN',
    404: 'NOT_FOUND',
    406: 'NOT_ACCEPTABLE',
    413: 'PAYLOAD_TOO_LARGE',
    415: 'UNSUPPORTED_MEDIA_TYPE',
    429: 'TOO_MANY_REQUESTS',
  };
  return codes[status] ?? (status >= 500 ? 'INTERNAL_ERROR' : 'BAD_REQUEST');
}

export interface ErrorBody {
  statusCode: number;
  error: ErrorCode;
  message: string;
  requestId: string;
  [extra: string]: unknown;
}

/**
 * The one place errors become HTTP. Anything unexpected is a 500 carrying only the request
 * id: stack traces and SQL stay in the log.
 */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('ApiExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const res = ctx.getResponse<Response>();
    const requestId = requestIdOf(ctx.getRequest<Request>(), res);
    const body = this.toBody(exception, requestId, ctx.getRequest<Request>());
    if (body.statusCode >= 500 && !(exception instanceof DomainError)) {
      withoutValues(exception);
      this.logger.error(
        { err: exception, requestId },
        exception instanceof Error ? exception.message : 'unexpected error',
      );
    }
    if (!res.headersSent) res.status(body.statusCode).json(body);
  }

  private toBody(exception: unknown, requestId: string, req: Request): ErrorBody {
    if (exception instanceof DomainError) {
      const statusCode = statusFor(exception.code);
      return {
        statusCode,
        error: exception.code,
        message: exception.message,
        ...exception.details,
        requestId,
      };
    }
    if (exception instanceof HttpException) {
      const statusCode = exception.getStatus();
      const response = exception.getResponse();
      let message = exception.message;
      if (typeof response === 'object' && response !== null && 'message' in response) {
        const m: unknown = response.message;
        message = Array.isArray(m) ? m.join('; ') : String(m);
      }
      return { statusCode, error: codeForStatus(statusCode), message, requestId };
    }
    if (isConnectionError(exception)) {
      return {
        statusCode: HttpStatus.SERVICE_UNAVAILABLE,
        error: 'DATABASE_UNAVAILABLE',
        message: 'The database is unreachable; try again shortly',
        requestId,
      };
    }
    const status = bodyParserStatus(exception);
    if (status !== undefined) {
      return {
        statusCode: status,
        error: codeForStatus(status),
        message: bodyParserMessage(status, exception, req),
        requestId,
      };
    }
    return {
      statusCode: HttpStatus.INTERNAL_SERVER_ERROR,
      error: 'INTERNAL_ERROR',
      message: `Internal error; quote request id ${requestId} to the operator`,
      requestId,
    };
  }
}

/** body-parser's errors (http-errors): a 4xx status the client may be told about. */
function bodyParserStatus(exception: unknown): number | undefined {
  if (exception && typeof exception === 'object' && 'status' in exception) {
    const status: unknown = exception.status;
    if (typeof status === 'number' && status >= 400 && status < 500) return status;
  }
  return undefined;
}

function bodyParserMessage(status: number, exception: unknown, req: Request): string {
  if (status === 413) {
    // The route's own limit (16 KB but for POST /users/import), as body-parser reports it.
    const limit = (exception as { limit?: unknown }).limit;
    const kb = typeof limit === 'number' ? Math.round(limit / 1024) : 16;
    return `Request body is larger than the ${kb} KB limit`;
  }
  // An unsupported charset, say: the import also reads CSV, so it says so.
  if (status === 415) return isImportPost(req) ? NOT_CSV_OR_JSON : NOT_JSON;
  return 'Request body could not be read: it is not valid JSON, or its Content-Encoding does not match';
}
