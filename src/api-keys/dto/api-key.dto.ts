import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsDefined, IsString, Matches, ValidateBy, ValidationArguments } from 'class-validator';
import { isScope, Scope, SCOPES } from '../../common/access/scopes';
import { PageLimit, PageOffset } from '../../common/validation/query-params';
import { CodePointLength, trim } from '../../common/validation/validators';

const SCOPE_LIKE = /^[a-z][a-z:_-]{0,31}$/;

/** A non-empty list of known scopes, each once; the message lists the valid names. */
function ScopeList(): PropertyDecorator {
  const valid = SCOPES.join(', ');
  const problem = (value: unknown): string | null => {
    if (!Array.isArray(value) || value.length === 0) {
      return `scopes must be a non-empty array of scope names (${valid})`;
    }
    const unknown = value.filter((s) => !isScope(s));
    if (unknown.length > 0) {
      // Only what looks like a scope name is repeated: a key pasted here by mistake is not.
      const named = unknown.every((s) => typeof s === 'string' && SCOPE_LIKE.test(s))
        ? `unknown scope ${unknown.map((s) => `"${String(s)}"`).join(', ')}`
        : 'a value that is not a scope name';
      return `scopes has ${named}; the valid scopes are ${valid}`;
    }
    if (new Set(value).size !== value.length) return 'scopes must not name a scope twice';
    return null;
  };
  return ValidateBy({
    name: 'scopeList',
    validator: {
      validate: (value: unknown) => problem(value) === null,
      defaultMessage: (args?: ValidationArguments) => problem(args?.value) ?? '',
    },
  });
}

export class CreateApiKeyDto {
  @ApiProperty({
    example: 'billing service',
    minLength: 1,
    maxLength: 100,
    description: 'Who holds the key, for people reading the list and the audit; trimmed',
  })
  @Transform(trim)
  @IsDefined({ message: '$property is required' })
  @IsString({ message: '$property must be a string' })
  @CodePointLength(1, 100, { message: '$property must be 1 to 100 characters after trimming' })
  // PostgreSQL would store an unpaired surrogate as U+FFFD: a name other than the one sent.
  @Matches(/^[^\p{Cc}\p{Cs}]*$/u, {
    message: '$property must not contain control characters or unpaired surrogates',
  })
  name!: string;

  @ApiProperty({
    type: [String],
    enum: SCOPES,
    minItems: 1,
    uniqueItems: true,
    example: ['users:read'],
    description: 'What the key may do; a key may grant only scopes it holds itself',
  })
  @IsDefined({ message: '$property is required' })
  @ScopeList()
  scopes!: Scope[];
}

export class ListApiKeysQueryDto {
  @PageLimit(500, 50)
  limit: number = 50;

  @PageOffset(1_000_000, 'Keys to skip, newest first')
  offset: number = 0;
}

export class ApiKeyDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ example: 'billing service' })
  name!: string;

  @ApiProperty({ type: [String], enum: SCOPES, example: ['users:read'] })
  scopes!: Scope[];

  @ApiProperty({
    example: 'Q2x4bW9k',
    minLength: 8,
    maxLength: 8,
    description: 'The 8 characters after `scp_` in the key, to tell which key a string is',
  })
  prefix!: string;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;

  @ApiProperty({
    format: 'date-time',
    nullable: true,
    type: String,
    description: 'Last authenticated request, to about a minute; null when never used',
  })
  lastUsedAt!: string | null;

  @ApiProperty({ format: 'date-time', nullable: true, type: String, description: 'null if live' })
  revokedAt!: string | null;
}

export class CreatedApiKeyDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ example: 'billing service' })
  name!: string;

  @ApiProperty({ type: [String], enum: SCOPES, example: ['users:read'] })
  scopes!: Scope[];

  @ApiProperty({ example: 'Q2x4bW9k', minLength: 8, maxLength: 8 })
  prefix!: string;

  @ApiProperty({
    example: 'scp_Q2x4bW9kZXJuLXJhbmRvbS1rZXktZXhhbXBsZS0wMDAwMA',
    pattern: '^scp_[A-Za-z0-9_-]{43}$',
    description:
      'The key, shown only here: `scp_` and the base64url of 32 random bytes. Send it as `Authorization: Bearer <key>`',
  })
  key!: string;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;
}

export class ApiKeyListDto {
  @ApiProperty({ type: [ApiKeyDto], description: 'Newest first' })
  items!: ApiKeyDto[];

  @ApiProperty({ type: 'integer', example: 1, description: 'All keys, before limit/offset' })
  total!: number;
}
