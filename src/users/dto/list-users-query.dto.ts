import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { IntegerQueryParam } from '../../common/validation/query-params';
import { SingleValue } from '../../common/validation/validators';

export const MAX_PAGE = 1000;
/** More than any extension range can hold; keeps the value inside PostgreSQL's bigint. */
export const MAX_OFFSET = 1_000_000;

export class ListUsersQueryDto {
  @ApiPropertyOptional({
    example: 'alice',
    maxLength: 254,
    description: 'Case-insensitive match on name, email or extension number',
  })
  @IsOptional()
  @SingleValue()
  @IsString({ message: '$property must be a string' })
  @MaxLength(254, { message: '$property must be at most 254 characters' })
  // PostgreSQL text cannot hold NUL, and no name or email contains a control character.
  @Matches(/^\P{Cc}*$/u, { message: '$property must not contain control characters' })
  search?: string;

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
    description: 'Users to skip, in extension order',
  })
  @IntegerQueryParam(0, MAX_OFFSET)
  offset: number = 0;
}
