import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEmail, IsString, Length, Matches, MaxLength } from 'class-validator';

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
  @Length(1, 100, { message: 'name must be 1 to 100 characters after trimming' })
  @Matches(NAME_PATTERN, {
    message:
      'name may contain only letters, digits, spaces and . , \' - _ ( ) & (no control characters or ; " [ ] < > \\)',
  })
  name!: string;

  @ApiProperty({ example: 'alice@example.com', maxLength: 254 })
  @Transform(trim)
  @IsString()
  @MaxLength(254, { message: 'email must be at most 254 characters' })
  @IsEmail({}, { message: 'email must be a valid email address' })
  email!: string;
}
