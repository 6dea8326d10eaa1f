import {
  CanActivate,
  ExecutionContext,
  HttpException,
  HttpStatus,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { ApiToken } from './api-token';
import { AuthFailureLimiter } from './auth-failure-limiter';
import { IS_PUBLIC } from './public.decorator';

@Injectable()
export class BearerAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly token: ApiToken,
    private readonly limiter: AuthFailureLimiter,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (isPublic) return true;
    const http = context.switchToHttp();
    const req = http.getRequest<Request>();
    const ip = req.ip ?? req.socket.remoteAddress ?? 'unknown';

    const blocked = this.limiter.blockedFor(ip);
    if (blocked > 0) this.tooMany(http.getResponse<Response>(), blocked);

    const header = req.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (match && this.token.matches(match[1])) return true;

    // Every refusal counts as a failure, a malformed header too: it may be a guess.
    const nowBlocked = this.limiter.fail(ip);
    if (nowBlocked > 0) this.tooMany(http.getResponse<Response>(), nowBlocked);
    throw new UnauthorizedException(refusal(header, match !== null));
  }

  private tooMany(res: Response, seconds: number): never {
    res.setHeader('Retry-After', String(seconds));
    throw new HttpException(
      `Too many failed authentication attempts from this address; retry in ${seconds} s`,
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}

/** Says which of the three things is wrong: no header, its form, or the token in it. */
function refusal(header: string | undefined, wellFormed: boolean): string {
  if (!header) return 'Missing Authorization header: send "Bearer <token>"';
  if (!wellFormed) return 'Authorization header must be "Bearer <token>"';
  return 'Invalid API token';
}
