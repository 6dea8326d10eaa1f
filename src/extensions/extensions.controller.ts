import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequiresScope } from '../common/access/requires-scope.decorator';
import { ApiErrorResponses, TOKEN_ERRORS } from '../common/errors/api-error-responses';
import { ExtensionListDto } from './dto/extension-response.dto';
import { ListExtensionsQueryDto } from './dto/list-extensions-query.dto';
import { ExtensionsService } from './extensions.service';

@ApiTags('extensions')
@ApiBearerAuth()
@Controller('extensions')
export class ExtensionsController {
  constructor(private readonly extensions: ExtensionsService) {}

  @Get()
  @RequiresScope('users:read')
  @ApiOperation({
    operationId: 'listExtensions',
    summary: 'Every number of the extension range, in order: free, or the user who has it',
    description:
      'The range is EXTENSION_MIN..EXTENSION_MAX; a number taken outside it (the range was narrowed) is listed too.',
  })
  @ApiOkResponse({ type: ExtensionListDto, description: 'One page of numbers, and how many match' })
  @ApiErrorResponses({
    400: 'A parameter is invalid, repeated or unknown (e.g. "status must be free or used")',
    ...TOKEN_ERRORS,
  })
  list(@Query() query: ListExtensionsQueryDto): Promise<ExtensionListDto> {
    return this.extensions.list(query);
  }
}
