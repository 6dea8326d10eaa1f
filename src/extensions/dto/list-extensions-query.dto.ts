import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { MAX_OFFSET, MAX_PAGE } from '../../common/validation/paging';
import { PageLimit, PageOffset } from '../../common/validation/query-params';
import { SingleValue } from '../../common/validation/validators';

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

  @PageLimit(MAX_PAGE, MAX_PAGE, 100)
  limit: number = MAX_PAGE;

  @PageOffset(MAX_OFFSET, 'Numbers to skip, in order', 0)
  offset: number = 0;
}
