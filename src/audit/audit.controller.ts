import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequiresScope } from '../common/access/requires-scope.decorator';
import { ApiErrorResponses, TOKEN_ERRORS } from '../common/errors/api-error-responses';
import { AuditService } from './audit.service';
import { AuditListDto, AuditQueryDto } from './dto/audit.dto';

/** Read-only: no route changes or deletes an audit row. */
@ApiTags('audit')
@ApiBearerAuth()
@Controller('audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @RequiresScope('audit:read')
  @ApiOperation({
    operationId: 'listAudit',
    summary: 'Who changed what: users, keys and applies, newest first',
  })
  @ApiOkResponse({ type: AuditListDto, description: 'One page of rows, and how many match' })
  @ApiErrorResponses({
    400: 'A parameter is invalid, repeated or unknown (e.g. "targetId must be a UUID", "since must not be after until")',
    ...TOKEN_ERRORS,
  })
  list(@Query() query: AuditQueryDto): Promise<AuditListDto> {
    return this.audit.list(query);
  }
}
