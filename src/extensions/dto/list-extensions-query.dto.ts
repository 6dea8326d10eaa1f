import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { IntegerQueryParam } from '../../common/validation/query-params';
import { SingleValue } from '../../common/validation/validators';
import { MAX_OFFSET, MAX_PAGE } from '../../users/dto/list-users-query.dto';

export const EXTENSION_STATUSES = ['free', 'used'] as const;
export type ExtensionStatus = (typeof EXTENSION_STATUSES)[number];

/** Pages like GET /users: the same limit and offset, the same messages. */
export class ListExtensionsQueryDto {
  @ApiPropertyOptional({
    enum: EXTENSION_STATUSES,
    description: 'free: numbers nobody has; used: numbers a user has. Omitted: every number',
  })
  @IsOptional()
  @SingleValue()
  @IsIn(EXTENSION_STATUSES, { message: '$property must be free or used' })
  status?: ExtensionStatus;

  @ApiPropertyOptional({
    type: 'integer',
    example: 100,
    default: MAX_PAGE,
    minimum: 1,
    maximum: MAX_PAGE,
    description: 'Page size',
  })
  @IntegerQueryParam(1, MAX_PAGE)
  limit: number = MAX_PAGE;

  @ApiPropertyOptional({
    type: 'integer',
    example: 0,
    default: 0,
    minimum: 0,
    maximum: MAX_OFFSET,
    description: 'Numbers to skip, in order',
  })
  @IntegerQueryParam(0, MAX_OFFSET)
  offset: number = 0;
}
