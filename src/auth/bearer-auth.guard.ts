import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Response } from 'express';
import { forbidden } from '../common/errors/domain-errors';
import { Authenticator } from './authenticator';
import { IS_PUBLIC } from '../common/access/public.decorator';
import type { RequestWithActor } from '../common/access/request-context';
import { REQUIRED_SCOPE } from '../common/access/requires-scope.decorator';
import { lacksScope, Scope } from '../common/access/scopes';

/**
 * Who is calling (Authenticator) and whether they may call this route (its @RequiresScope). A
 * route with neither a scope nor @Public() is refused to every key: a route someone forgot to
 * annotate fails closed.
 */
@Injectable()
export class BearerAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authenticator: Authenticator,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const http = context.switchToHttp();
    const req = http.getRequest<RequestWithActor>();
    const actor = await this.authenticator.authenticate(req, http.getResponse<Response>());
    if (actor.type === 'bootstrap') return true;
    const scope = this.reflector.get<Scope | undefined>(REQUIRED_SCOPE, context.getHandler());
    if (!scope) throw forbidden('this route is not open to API keys');
    if (!actor.scopes.includes(scope)) throw forbidden(lacksScope(scope));
    return true;
  }
}
