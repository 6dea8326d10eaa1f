import { Controller, Get, HttpCode, Post, Query, Req } from '@nestjs/common';
import {
  ApiBadGatewayResponse,
  ApiBearerAuth,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
  getSchemaPath,
} from '@nestjs/swagger';
import { ErrorResponseDto } from '../common/errors/error-response.dto';
import type { Request } from 'express';
import { ApplyService } from './apply.service';
import {
  ApplyLogDto,
  ApplyLogsQueryDto,
  ApplyQueryDto,
  ApplyResultDto,
  ApplyStatusDto,
  DryRunResultDto,
} from './dto/apply.dto';

@ApiTags('apply')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorResponseDto, description: 'Missing or wrong bearer token' })
@ApiExtraModels(ApplyResultDto, DryRunResultDto)
@Controller('apply')
export class ApplyController {
  constructor(private readonly applies: ApplyService) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Write the Asterisk config from the database, reload and verify it',
    description:
      'Serialized across all portal processes. On failure the last good files are restored and Asterisk reloaded with them.',
  })
  @ApiOkResponse({
    schema: {
      oneOf: [{ $ref: getSchemaPath(ApplyResultDto) }, { $ref: getSchemaPath(DryRunResultDto) }],
    },
  })
  @ApiBadGatewayResponse({ type: ApplyResultDto, description: 'Asterisk or the disk failed' })
  @ApiServiceUnavailableResponse({
    type: ErrorResponseDto,
    description: 'The database is unreachable',
  })
  apply(
    @Query() query: ApplyQueryDto,
    @Req() req: Request & { id?: unknown },
  ): Promise<ApplyResultDto | DryRunResultDto> {
    if (query.dryRun) return this.applies.dryRun();
    return this.applies.apply(typeof req.id === 'string' ? req.id : null);
  }

  @Get('status')
  @ApiOperation({ summary: 'Whether the database differs from the last successful apply' })
  @ApiOkResponse({ type: ApplyStatusDto })
  status(): Promise<ApplyStatusDto> {
    return this.applies.status();
  }

  @Get('logs')
  @ApiOperation({ summary: 'Audit log of applies, newest first' })
  @ApiOkResponse({ type: [ApplyLogDto] })
  logs(@Query() query: ApplyLogsQueryDto): Promise<ApplyLogDto[]> {
    return this.applies.logs(query.limit);
  }
}
