import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ApiToken } from './api-token';
import { AuthFailureLimiter } from './auth-failure-limiter';
import { BearerAuthGuard } from './bearer-auth.guard';

/** Bearer-token auth on every route not marked @Public, with failed attempts rate-limited. */
@Global()
@Module({
  providers: [ApiToken, AuthFailureLimiter, { provide: APP_GUARD, useClass: BearerAuthGuard }],
  exports: [ApiToken],
})
export class AuthModule {}
