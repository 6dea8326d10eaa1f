import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptions } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsDefined, IsString, Matches } from 'class-validator';
import {
  CodePointLength,
  IsMailbox,
  Refused,
  trim,
  WhenSent,
} from '../../common/validation/validators';

/**
 * Letters of any script (with combining marks), digits, space and . , ' - _ ( ) & only.
 * The name reaches the Asterisk callerid, so nothing that can end a line, start a section,
 * start a comment or close the quoted value is accepted.
 */
export const NAME_PATTERN = /^[\p{L}\p{M}\p{N} .,'\-_()&]+$/u;
export const NAME_MAX_LENGTH = 100;
export const EMAIL_MAX_LENGTH = 254;

export const NAME_DOC: ApiPropertyOptions = {
  example: 'Alice Smith',
  minLength: 1,
  maxLength: NAME_MAX_LENGTH,
  // ECMAScript with the u flag, as JSON Schema reads a pattern.
  pattern: NAME_PATTERN.source,
  description:
    "Letters of any script, digits, space and . , ' - _ ( ) & only; checked (and stored) after trimming, and the length counts code points",
};

export const EMAIL_DOC: ApiPropertyOptions = {
  example: 'alice@example.com',
  format: 'email',
  maxLength: EMAIL_MAX_LENGTH,
  description: 'Unique, compared case-insensitively; trimmed',
};

/** A name's rules, once for create and update: same checks, same messages. */
export const NameRules = (): PropertyDecorator =>
  applyDecorators(
    Transform(trim),
    IsString({ message: '$property must be a string' }),
    CodePointLength(1, NAME_MAX_LENGTH, {
      message: `$property must be 1 to ${NAME_MAX_LENGTH} characters after trimming`,
    }),
    Matches(NAME_PATTERN, {
      message:
        '$property may contain only letters, digits, spaces and . , \' - _ ( ) & (no control characters or ; " [ ] < > \\)',
    }),
  );

/** An email's rules, once for create and update (uniqueness is the database's). */
export const EmailRules = (): PropertyDecorator =>
  applyDecorators(
    Transform(trim),
    IsString({ message: '$property must be a string' }),
    IsMailbox(),
  );

/** A new user's own fields, with their rules: what POST /users and an import row share. */
export class NewUserFieldsDto {
  @ApiProperty(NAME_DOC)
  // null counts as missing: "name is required" rather than a type error.
  @IsDefined({ message: '$property is required' })
  @NameRules()
  name!: string;

  @ApiProperty(EMAIL_DOC)
  @IsDefined({ message: '$property is required' })
  @EmailRules()
  email!: string;
}

/** POST /users: the number is the portal's to choose, so `extension` is refused by name. */
export class CreateUserDto extends NewUserFieldsDto {
  // Not in the document (the body is closed there); named here only to say why it is refused.
  @WhenSent()
  @Refused(
    'extension cannot be chosen: the portal allocates the lowest free number (POST /users/import takes users with their numbers)',
  )
  extension?: never;
}
