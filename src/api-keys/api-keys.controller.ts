import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { RequiresScope } from '../common/access/requires-scope.decorator';
import { ApiErrorResponses, BODY_ERRORS, TOKEN_ERRORS } from '../common/errors/api-error-responses';
import { NoFieldsPipe } from '../common/validation/no-fields.pipe';
import { UuidParam } from '../common/validation/uuid-param.pipe';
import { ApiKeysService } from './api-keys.service';
import {
  ApiKeyListDto,
  CreateApiKeyDto,
  CreatedApiKeyDto,
  ListApiKeysQueryDto,
} from './dto/api-key.dto';

@ApiTags('api-keys')
@ApiBearerAuth()
@Controller('api-keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  // Above RequiresScope, so its 403 text (the route's and the grant's) is the one documented.
  @ApiErrorResponses({
    403: 'The API key lacks the scope keys:admin, or a scope it asks to grant ("this API key lacks the scope users:write")',
  })
  @RequiresScope('keys:admin')
  @ApiOperation({
    operationId: 'createApiKey',
    summary: 'Create an API key with scopes; the key is shown only in this answer',
  })
  @ApiCreatedResponse({ type: CreatedApiKeyDto, description: 'The key and its secret' })
  @ApiErrorResponses({
    400: 'name or scopes is missing or invalid, a scope is unknown (the message lists the valid ones), or a field is unknown',
    ...TOKEN_ERRORS,
    ...BODY_ERRORS,
  })
  create(@Body() dto: CreateApiKeyDto): Promise<CreatedApiKeyDto> {
    return this.keys.create(dto);
  }

  @Get()
  @RequiresScope('keys:admin')
  @ApiOperation({ operationId: 'listApiKeys', summary: 'API keys, newest first, without secrets' })
  @ApiOkResponse({ type: ApiKeyListDto, description: 'One page of keys, and how many there are' })
  @ApiErrorResponses({
    400: 'A parameter is invalid, repeated or unknown (e.g. "limit must be an integer from 1 to 500")',
    ...TOKEN_ERRORS,
  })
  list(@Query() query: ListApiKeysQueryDto): Promise<ApiKeyListDto> {
    return this.keys.list(query);
  }

  @Delete(':id')
  @HttpCode(204)
  @RequiresScope('keys:admin')
  @ApiParam({ name: 'id', format: 'uuid', description: 'The key id' })
  @ApiOperation({
    operationId: 'revokeApiKey',
    summary: 'Revoke an API key: every portal process refuses it from the next request on',
    description: 'Revoking a key revoked already changes nothing and answers 204.',
  })
  @ApiNoContentResponse({ description: 'Revoked' })
  @ApiErrorResponses({
    400: 'id is not a UUID, or a query parameter was sent',
    ...TOKEN_ERRORS,
    404: 'API_KEY_NOT_FOUND: no key with this id',
  })
  revoke(@Param('id', UuidParam) id: string, @Query(NoFieldsPipe) _query: unknown): Promise<void> {
    return this.keys.revoke(id);
  }
}
