import { Global, Module } from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { ApiKeysModule } from '../api-keys/api-keys.module';
import { ApiToken } from './api-token';
import { AuthFailureLimiter } from './auth-failure-limiter';
import { Authenticator } from './authenticator';
import { BearerAuthGuard } from './bearer-auth.guard';
import { RequestContextInterceptor } from '../common/access/request-context';

/**
 * Bearer auth (the bootstrap token or an API key) and scopes on every route not marked
 * @Public, with failed attempts rate-limited; the caller is then the request's context.
 */
@Global()
@Module({
  imports: [ApiKeysModule],
  providers: [
    ApiToken,
    AuthFailureLimiter,
    Authenticator,
    { provide: APP_GUARD, useClass: BearerAuthGuard },
    { provide: APP_INTERCEPTOR, useClass: RequestContextInterceptor },
  ],
  exports: [ApiToken, Authenticator],
})
export class AuthModule {}
