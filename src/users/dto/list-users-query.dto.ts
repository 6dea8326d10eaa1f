import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';

export const MAX_PAGE = 1000;
/** More than any extension range can hold; keeps the value inside PostgreSQL's bigint. */
export const MAX_OFFSET = 1_000_000;

export class ListUsersQueryDto {
  @ApiPropertyOptional({
    example: 'alice',
    description: 'Case-insensitive match on name, email or extension number',
  })
  @IsOptional()
  @IsString()
  @MaxLength(254)
  // PostgreSQL text cannot hold NUL, and no name or email contains a control character.
  @Matches(/^\P{Cc}*$/u, { message: 'search must not contain control characters' })
  search?: string;

  @ApiPropertyOptional({ example: 1000, default: MAX_PAGE, minimum: 1, maximum: MAX_PAGE })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'limit must be a whole number' })
  @Min(1)
  @Max(MAX_PAGE)
  limit: number = MAX_PAGE;

  @ApiPropertyOptional({ example: 0, default: 0, minimum: 0, maximum: MAX_OFFSET })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'offset must be a whole number' })
  @Min(0)
  @Max(MAX_OFFSET)
  offset: number = 0;
}
