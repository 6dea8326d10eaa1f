import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { ApiToken } from './api-token';
import { IS_PUBLIC } from './public.decorator';

@Injectable()
export class BearerAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly token: ApiToken,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (isPublic) return true;
    const header = context.switchToHttp().getRequest<Request>().headers.authorization;
    if (!header) {
      throw new UnauthorizedException('Missing Authorization header: send "Bearer <token>"');
    }
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match || !this.token.matches(match[1])) {
      throw new UnauthorizedException('Invalid API token');
    }
    return true;
  }
}
