import { Body, Controller, Get, HttpCode, Post, Query, Req } from '@nestjs/common';
import {
  ApiBadGatewayResponse,
  ApiBearerAuth,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import type { Request } from 'express';
import { RequiresScope } from '../common/access/requires-scope.decorator';
import { ApiErrorResponses, BODY_ERRORS, TOKEN_ERRORS } from '../common/errors/api-error-responses';
import { NoFieldsPipe } from '../common/validation/no-fields.pipe';
import { ApplyPreviewService } from './apply-preview.service';
import { ApplyService } from './apply.service';
import {
  ApplyFailedDto,
  ApplyLogListDto,
  ApplyLogsQueryDto,
  ApplyQueryDto,
  ApplyResultDto,
  ApplyStatusDto,
  DryRunResultDto,
} from './dto/apply.dto';

@ApiTags('apply')
@ApiBearerAuth()
@ApiExtraModels(ApplyResultDto, DryRunResultDto)
@Controller('apply')
export class ApplyController {
  constructor(
    private readonly applies: ApplyService,
    private readonly preview: ApplyPreviewService,
  ) {}

  @Post()
  @HttpCode(200)
  @RequiresScope('apply')
  @ApiOperation({
    operationId: 'applyConfig',
    summary: 'Write the Asterisk config from the database, reload and verify it',
    description:
      'Serialized across all portal processes. On failure the last good files are restored and Asterisk reloaded with them. Takes no body: options are query parameters (a body field such as "dryRun" is refused, so it never runs a real apply by mistake).',
  })
  @ApiOkResponse({
    description: 'The apply succeeded (ApplyResultDto), or the dry run (DryRunResultDto)',
    schema: {
      oneOf: [{ $ref: getSchemaPath(ApplyResultDto) }, { $ref: getSchemaPath(DryRunResultDto) }],
    },
  })
  @ApiErrorResponses({
    400: 'dryRun is not true or false, or is repeated; or an unknown parameter or body field',
    ...TOKEN_ERRORS,
    ...BODY_ERRORS,
  })
  @ApiBadGatewayResponse({
    type: ApplyFailedDto,
    description:
      'Asterisk or the disk failed; the outcome says whether the last good files are back',
  })
  apply(
    @Query() query: ApplyQueryDto,
    @Body(NoFieldsPipe) _body: unknown,
    @Req() req: Request & { id?: unknown },
  ): Promise<ApplyResultDto | DryRunResultDto> {
    if (query.dryRun) return this.preview.dryRun();
    return this.applies.apply(typeof req.id === 'string' ? req.id : null);
  }

  @Get('status')
  @RequiresScope('apply')
  @ApiOperation({
    operationId: 'getApplyStatus',
    summary: 'Whether the database differs from the last successful apply',
  })
  @ApiOkResponse({ type: ApplyStatusDto, description: 'Pending or not, and the latest apply' })
  @ApiErrorResponses({ 400: 'A query parameter was sent (this route takes none)', ...TOKEN_ERRORS })
  status(@Query(NoFieldsPipe) _query: unknown): Promise<ApplyStatusDto> {
    return this.preview.status();
  }

  @Get('logs')
  @RequiresScope('apply')
  @ApiOperation({ operationId: 'listApplyLogs', summary: 'Audit log of applies, newest first' })
  @ApiOkResponse({
    type: ApplyLogListDto,
    description: 'One page of entries, and how many there are',
  })
  @ApiErrorResponses({
    400: 'A parameter is invalid, repeated or unknown (e.g. "limit must be an integer from 1 to 500")',
    ...TOKEN_ERRORS,
  })
  logs(@Query() query: ApplyLogsQueryDto): Promise<ApplyLogListDto> {
    return this.preview.logs(query.limit, query.offset);
  }
}
