import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { MAX_OFFSET, MAX_PAGE } from '../../common/validation/paging';
import { PageLimit, PageOffset } from '../../common/validation/query-params';
import { SingleValue } from '../../common/validation/validators';
import { FILTER_STATES, type FilterState } from '../../registration/dto/registration.dto';

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

  @PageLimit(MAX_PAGE, MAX_PAGE, 100)
  limit: number = MAX_PAGE;

  @PageOffset(MAX_OFFSET, 'Users to skip, in extension order', 0)
  offset: number = 0;

  @ApiPropertyOptional({
    enum: ['registration'],
    description:
      "Add each user's registration (one Asterisk listing per request, whatever the page size)",
  })
  @IsOptional()
  @SingleValue()
  @IsIn(['registration'], { message: '$property must be registration (the only value)' })
  include?: 'registration';

  @ApiPropertyOptional({
    enum: FILTER_STATES,
    description:
      'Only users whose phone is in this state (implies include=registration); total counts the filtered users. Needs Asterisk: 503 ASTERISK_UNAVAILABLE when it does not answer',
  })
  @IsOptional()
  @SingleValue()
  @IsIn(FILTER_STATES, { message: `$property must be one of ${FILTER_STATES.join(', ')}` })
  registration?: FilterState;
}
