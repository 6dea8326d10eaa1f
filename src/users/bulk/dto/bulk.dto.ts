import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { BooleanQueryParam } from '../../../common/validation/query-params';
import { ErrorResponseDto } from '../../../common/errors/error-response.dto';
import { EMAIL_MAX_LENGTH, NAME_MAX_LENGTH, NAME_PATTERN } from '../../dto/create-user.dto';

const LINE = {
  type: 'integer',
  minimum: 1,
  example: 2,
  description:
    'Where the row is: for CSV the line it starts on as an editor shows it (the header is line 1, so the first row is usually line 2); for JSON its place in the users array, counted from 1',
} as const;

export class ImportQueryDto {
  @ApiPropertyOptional({
    default: false,
    description:
      'true: validate and show what would be created, writing nothing. Only `true` and `false` are accepted.',
  })
  @BooleanQueryParam()
  dryRun: boolean = false;
}

/** The body of a JSON import; documented only (the service reads it row by row). */
export class ImportUserRowSchema {
  @ApiProperty({ example: 'Alice Smith', maxLength: NAME_MAX_LENGTH, pattern: NAME_PATTERN.source })
  name!: string;

  @ApiProperty({ example: 'alice@example.com', format: 'email', maxLength: EMAIL_MAX_LENGTH })
  email!: string;

  @ApiPropertyOptional({
    type: 'integer',
    example: 1042,
    description: 'In the configured range and free; without it the row gets the lowest free one',
  })
  extension?: number;

  @ApiPropertyOptional({
    example: 'phone-kept-secret-42',
    minLength: 12,
    maxLength: 128,
    pattern: '^[\\x21-\\x7E]+$',
    description:
      'The password the phone already has (printable ASCII, no spaces); stored only as its digests and never shown. Without it a password is generated',
  })
  sipPassword?: string;

  @ApiPropertyOptional({
    example: '1042',
    description: 'As the export writes it: must equal extension',
  })
  sipUsername?: string;

  @ApiPropertyOptional({
    example: '2026-11-25T10:00:00.000Z',
    description: 'As the export writes it: accepted and ignored',
  })
  createdAt?: string;
}

export class ImportUsersBodySchema {
  @ApiProperty({ type: [ImportUserRowSchema] })
  users!: ImportUserRowSchema[];
}

export class ImportRowErrorDto {
  @ApiProperty({
    example: 'email',
    description: 'The column or field, or "row" for the row as a whole',
  })
  field!: string;

  @ApiProperty({ example: 'email must be a valid email address of at most 254 characters' })
  message!: string;
}

export class ImportDryRunRowDto {
  @ApiProperty(LINE)
  line!: number;

  @ApiProperty({
    type: 'string',
    nullable: true,
    example: 'Alice Smith',
    description: 'As it would be stored (trimmed); null when the row has no text name',
  })
  name!: string | null;

  @ApiProperty({ type: 'string', nullable: true, example: 'alice@example.com' })
  email!: string | null;

  @ApiProperty({
    type: 'integer',
    nullable: true,
    example: 1000,
    description:
      "The number the row would get: its own, or the next of the lowest free ones. When the import is invalid, only a row's own valid number is shown, otherwise null",
  })
  extension!: number | null;

  @ApiProperty({ type: [ImportRowErrorDto], description: 'Empty when the row is valid' })
  errors!: ImportRowErrorDto[];
}

export class ImportDryRunResultDto {
  @ApiProperty({ type: 'boolean', enum: [true], example: true })
  dryRun!: true;

  @ApiProperty({ example: true, description: 'Whether the same file would import' })
  valid!: boolean;

  @ApiProperty({
    type: 'integer',
    enum: [0],
    example: 0,
    description: 'Always 0: nothing is written',
  })
  created!: 0;

  @ApiProperty({ type: [ImportDryRunRowDto] })
  rows!: ImportDryRunRowDto[];
}

export class ImportedUserDto {
  @ApiProperty(LINE)
  line!: number;

  @ApiProperty({ format: 'uuid', example: '3f2b8c1e-6d0a-4c35-9d1e-2a7b5c9e8f10' })
  id!: string;

  @ApiProperty({ example: 'Alice Smith', maxLength: NAME_MAX_LENGTH, pattern: NAME_PATTERN.source })
  name!: string;

  @ApiProperty({ example: 'alice@example.com', format: 'email', maxLength: EMAIL_MAX_LENGTH })
  email!: string;

  @ApiProperty({ type: 'integer', example: 1000 })
  extension!: number;

  @ApiProperty({ example: '1000', description: 'SIP digest username' })
  sipUsername!: string;

  @ApiProperty({
    type: 'string',
    nullable: true,
    pattern: '^[A-Za-z0-9]{24}$',
    example: 'q3Vb7xK2mT9pLw4ZcR8sN1eY',
    description:
      'The generated SIP password, shown in this response only; null for a row that brought its own (it is never echoed)',
  })
  sipPassword!: string | null;
}

export class ImportResultDto {
  @ApiProperty({ type: 'integer', example: 2, description: 'Users created' })
  created!: number;

  @ApiProperty({ type: [ImportedUserDto], description: 'In file order' })
  users!: ImportedUserDto[];
}

export class ImportRowProblemsDto {
  @ApiProperty(LINE)
  line!: number;

  @ApiProperty({ type: [ImportRowErrorDto] })
  errors!: ImportRowErrorDto[];
}

/** A 400 of POST /users/import: the usual error body, and each invalid row when rows were read. */
export class ImportErrorResponseDto extends ErrorResponseDto {
  @ApiPropertyOptional({
    type: [ImportRowProblemsDto],
    description:
      'Every invalid row with all its errors (IMPORT_INVALID); absent when the file as a whole could not be read (BAD_REQUEST)',
  })
  rows?: ImportRowProblemsDto[];
}

/** One user of the JSON export. */
export class ExportedUserDto {
  @ApiProperty({ example: 'Alice Smith' })
  name!: string;

  @ApiProperty({ example: 'alice@example.com', format: 'email' })
  email!: string;

  @ApiProperty({ type: 'integer', example: 1000 })
  extension!: number;

  @ApiProperty({ example: '1000' })
  sipUsername!: string;

  @ApiProperty({ example: '2026-11-25T10:00:00.000Z', format: 'date-time' })
  createdAt!: string;
}

export class UserExportDto {
  @ApiProperty({ type: [ExportedUserDto], description: 'Every user, in extension order' })
  users!: ExportedUserDto[];
}
