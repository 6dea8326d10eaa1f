import {
  CanActivate,
  ExecutionContext,
  ForbiddenException,
  HttpException,
  HttpStatus,
  Injectable,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Response } from 'express';
import { ApiKeyVerifier } from '../../api-keys/api-key-verifier';
import { ApiToken } from './api-token';
import { AuthFailureLimiter } from './auth-failure-limiter';
import { IS_PUBLIC } from './public.decorator';
import type { Actor, RequestWithActor } from './request-context';
import { REQUIRED_SCOPE } from './requires-scope.decorator';
import { lacksScope, Scope, SCOPES } from './scopes';

/** PORTAL_API_TOKEN: every scope, named `bootstrap` in the audit. */
const BOOTSTRAP: Actor = { type: 'bootstrap', id: null, name: 'bootstrap', scopes: SCOPES };

/**
 * Who is calling (the bootstrap token, or an API key looked up by its hash) and whether they
 * may call this route (its @RequiresScope). A route with neither a scope nor @Public() is
 * refused to every key: a route someone forgot to annotate fails closed.
 */
@Injectable()
export class BearerAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly token: ApiToken,
    private readonly keys: ApiKeyVerifier,
    private readonly limiter: AuthFailureLimiter,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const http = context.switchToHttp();
    const req = http.getRequest<RequestWithActor>();
    const ip = req.ip ?? req.socket.remoteAddress ?? 'unknown';

    const blocked = this.limiter.blockedFor(ip);
    if (blocked > 0) this.tooMany(http.getResponse<Response>(), blocked);

    const header = req.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    const actor = match ? await this.identify(match[1]) : null;
    if (!actor) {
      // Every refusal counts as a failure, a malformed header too: it may be a guess.
      const nowBlocked = this.limiter.fail(ip);
      if (nowBlocked > 0) this.tooMany(http.getResponse<Response>(), nowBlocked);
      throw new UnauthorizedException(refusal(header, match !== null));
    }
    req.actor = actor;
    if (actor.type === 'bootstrap') return true;
    const scope = this.reflector.get<Scope | undefined>(REQUIRED_SCOPE, context.getHandler());
    if (!scope) throw new ForbiddenException('this route is not open to API keys');
    if (!actor.scopes.includes(scope)) throw new ForbiddenException(lacksScope(scope));
    return true;
  }

  /** The bootstrap token (compared in constant time) or a live key; null for anything else. */
  private async identify(bearer: string): Promise<Actor | null> {
    if (this.token.matches(bearer)) return BOOTSTRAP;
    return this.keys.verify(bearer);
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
