import { BadRequestException, ParseUUIDPipe } from '@nestjs/common';

/** An `:id` path parameter: a UUID, or one clear 400 naming it. */
export const UuidParam = new ParseUUIDPipe({
  exceptionFactory: () => new BadRequestException('id must be a UUID'),
});
