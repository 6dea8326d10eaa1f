import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsString, Matches } from 'class-validator';
import { CodePointLength, IsMailbox } from '../../common/validation/validators';

/**
 * Letters of any script (with combining marks), digits, space and . , ' - _ ( ) & only.
 * The name reaches the Asterisk callerid, so nothing that can end a line, start a section,
 * start a comment or close the quoted value is accepted.
 */
export const NAME_PATTERN = /^[\p{L}\p{M}\p{N} .,'\-_()&]+$/u;

const trim = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? value.trim() : value;

export class CreateUserDto {
  @ApiProperty({
    example: 'Alice Smith',
    minLength: 1,
    maxLength: 100,
    description: "Letters of any script, digits, space and . , ' - _ ( ) & only",
  })
  @Transform(trim)
  @IsString()
  @CodePointLength(1, 100, { message: 'name must be 1 to 100 characters after trimming' })
  @Matches(NAME_PATTERN, {
    message:
      'name may contain only letters, digits, spaces and . , \' - _ ( ) & (no control characters or ; " [ ] < > \\)',
  })
  name!: string;

  @ApiProperty({ example: 'alice@example.com', maxLength: 254 })
  @Transform(trim)
  @IsString()
  @IsMailbox()
  email!: string;
}
