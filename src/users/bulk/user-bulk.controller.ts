import { Body, Controller, Get, Post, Query, Req, Res, StreamableFile } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiResponse,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { RequiresScope } from '../../common/access/requires-scope.decorator';
import { ApiErrorResponses, TOKEN_ERRORS } from '../../common/errors/api-error-responses';
import { notAcceptable } from '../../common/errors/domain-errors';
import { IMPORT_BODY_LIMIT } from '../../common/http/request-body';
import { NoFieldsPipe } from '../../common/validation/no-fields.pipe';
import {
  ImportDryRunResultDto,
  ImportErrorResponseDto,
  ImportQueryDto,
  ImportResultDto,
  ImportUsersBodySchema,
  UserExportDto,
} from './dto/bulk.dto';
import { EXPORT_COLUMNS, UserExportService } from './user-export.service';
import { UserImportService } from './user-import.service';

const CSV_EXAMPLE =
  'name,email,extension,sipPassword\r\n"Smith, Alice",alice@example.com,1042,phone-kept-secret-42\r\nBob,bob@example.com,,\r\n';
const EXPORT_TYPES = ['text/csv', 'application/json'];

@ApiTags('users')
@ApiBearerAuth()
@ApiExtraModels(ImportUsersBodySchema, UserExportDto)
@Controller('users')
export class UserBulkController {
  constructor(
    private readonly importer: UserImportService,
    private readonly exporter: UserExportService,
  ) {}

  @Post('import')
  @RequiresScope('users:write')
  @ApiOperation({
    operationId: 'importUsers',
    summary: 'Create many users at once, all or none, from CSV or JSON',
    description: `CSV (text/csv) needs a header row naming its columns (any order, any case): name and email, optionally extension, sipPassword, and the export's sipUsername (must equal extension) and createdAt (ignored). JSON is {"users": [...]} with the same fields. Each row is validated as POST /users validates, every row's errors are reported at once, and a row's line is where it starts in the CSV file (the header is line 1) or its place in the JSON array counted from 1. Rows with an extension get it; the others get the lowest free numbers in file order. Up to the size of the extension range, and ${Math.round(IMPORT_BODY_LIMIT / 1024)} KB (2,000 rows).`,
    requestBody: {
      required: true,
      content: {
        'text/csv': { schema: { type: 'string' }, example: CSV_EXAMPLE },
        'application/json': { schema: { $ref: getSchemaPath(ImportUsersBodySchema) } },
      },
    },
  })
  @ApiCreatedResponse({
    type: ImportResultDto,
    description:
      'Every row was created; sipPassword is the generated password (shown only here), null for a row that brought its own',
  })
  @ApiOkResponse({
    type: ImportDryRunResultDto,
    description: 'dryRun=true: what would be created, each row with its errors; nothing written',
  })
  @ApiResponse({
    status: 400,
    type: ImportErrorResponseDto,
    description:
      'IMPORT_INVALID: rows are invalid (each with every error in rows), nothing written; BAD_REQUEST: the file cannot be read (no header, an unknown column, malformed CSV, no rows, more rows than the range holds) or dryRun is not true or false',
  })
  @ApiErrorResponses({
    ...TOKEN_ERRORS,
    409: 'EXTENSION_POOL_EXHAUSTED: fewer numbers are free than rows without an extension (the message says how many are free); DUPLICATE_EMAIL: a user with one of the emails was created during the import',
    413: `Request body is larger than the ${Math.round(IMPORT_BODY_LIMIT / 1024)} KB limit of this route`,
    415: 'Request body is neither CSV (Content-Type: text/csv) nor JSON (Content-Type: application/json)',
  })
  importUsers(
    @Query() query: ImportQueryDto,
    @Body() body: unknown,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ImportResultDto | ImportDryRunResultDto> {
    if (query.dryRun) res.status(200);
    return this.importer.import(body, query.dryRun);
  }

  // Declared in a controller registered before UsersController (see UsersModule), so that a
  // `GET /users/:id` there never takes "export" for an id.
  @Get('export')
  @RequiresScope('users:read')
  @ApiOperation({
    operationId: 'exportUsers',
    summary: 'Every user as CSV (the default) or JSON, in extension order',
    description: `CSV columns ${EXPORT_COLUMNS.join(',')}; send Accept: application/json for {"users": [...]}. Streamed; never a password or digest. POST /users/import reads either back as it is. Cells are not guarded against spreadsheet formulas (that would change the data): open the file as text in a spreadsheet.`,
  })
  @ApiProduces(...EXPORT_TYPES)
  @ApiOkResponse({
    description: 'The users, as text/csv or application/json',
    content: {
      'text/csv': {
        schema: { type: 'string' },
        example: 'name,email,extension,sipUsername,createdAt\n',
      },
      'application/json': { schema: { $ref: getSchemaPath(UserExportDto) } },
    },
  })
  @ApiErrorResponses({
    400: 'A query parameter was sent (this route takes none)',
    ...TOKEN_ERRORS,
    406: 'The Accept header allows neither text/csv nor application/json',
  })
  async exportUsers(
    @Query(NoFieldsPipe) _query: unknown,
    @Req() req: Request,
  ): Promise<StreamableFile> {
    // The answer depends on Accept: a cache must not give the CSV to a JSON client.
    req.res?.vary('Accept');
    const type = req.accepts(EXPORT_TYPES);
    if (type === false) {
      throw notAcceptable('The export is text/csv or application/json');
    }
    const json = type === 'application/json';
    const stream = await this.exporter.export(json ? 'json' : 'csv');
    const file = new StreamableFile(stream, {
      type: json ? 'application/json; charset=utf-8' : 'text/csv; charset=utf-8',
      disposition: `attachment; filename="users.${json ? 'json' : 'csv'}"`,
    });
    // A page that fails after the status line was sent: the client sees a cut-off body.
    return file.setErrorHandler((_err, response) => {
      (response as unknown as { destroy: () => void }).destroy();
    });
  }
}
