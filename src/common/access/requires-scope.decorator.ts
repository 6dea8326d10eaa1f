import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';
import { ApiErrorResponses } from '../errors/api-error-responses';
import type { Scope } from './scopes';

export const REQUIRED_SCOPE = 'requiredScope';

/**
 * The scope an API key needs for this route, read by the bearer guard. A route with neither
 * this nor @Public() is refused to every key (the bootstrap token still passes). The OpenAPI
 * operation gets `x-required-scope`, its 403, and a line in its description (added when the
 * document is built, see openapi-document.ts).
 */
export const RequiresScope = (scope: Scope): MethodDecorator =>
  applyDecorators(
    SetMetadata(REQUIRED_SCOPE, scope),
    ApiExtension('x-required-scope', scope),
    ApiErrorResponses({
      403: `The API key lacks the scope ${scope} ("this API key lacks the scope ${scope}")`,
    }),
  );
