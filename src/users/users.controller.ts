import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { RequiresScope } from '../common/auth/requires-scope.decorator';
import { ApiErrorResponses, BODY_ERRORS, TOKEN_ERRORS } from '../common/errors/api-error-responses';
import { NoFieldsPipe } from '../common/validation/no-fields.pipe';
import { CreateUserDto } from './dto/create-user.dto';
import { ListUsersQueryDto } from './dto/list-users-query.dto';
import { CreatedUserDto, SipPasswordDto, UserListDto } from './dto/user-response.dto';
import { UsersService } from './users.service';

const UuidParam = new ParseUUIDPipe({
  exceptionFactory: () => new BadRequestException('id must be a UUID'),
});

const IdParam = ApiParam({ name: 'id', format: 'uuid', description: 'The user id' });

@ApiTags('users')
@ApiBearerAuth()
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Post()
  @RequiresScope('users:write')
  @ApiOperation({
    operationId: 'createUser',
    summary: 'Create a user with the lowest free extension and SIP credentials',
  })
  @ApiCreatedResponse({
    type: CreatedUserDto,
    description: 'The user, its extension and its SIP password (shown only here)',
  })
  @ApiErrorResponses({
    400: 'A field is missing, invalid or unknown, or the body is not a JSON object; the message names each problem once (e.g. "name is required")',
    ...TOKEN_ERRORS,
    409: 'DUPLICATE_EMAIL: a user with this email exists; EXTENSION_POOL_EXHAUSTED: every number of the range is taken',
    ...BODY_ERRORS,
  })
  create(@Body() dto: CreateUserDto): Promise<CreatedUserDto> {
    return this.users.create(dto);
  }

  @Get()
  @RequiresScope('users:read')
  @ApiOperation({
    operationId: 'listUsers',
    summary: 'List users with their extensions, ordered by extension',
  })
  @ApiOkResponse({ type: UserListDto, description: 'One page of users, and how many match' })
  @ApiErrorResponses({
    400: 'A parameter is invalid, repeated or unknown (e.g. "limit must be an integer from 1 to 1000")',
    ...TOKEN_ERRORS,
  })
  list(@Query() query: ListUsersQueryDto): Promise<UserListDto> {
    return this.users.list(query);
  }

  @Delete(':id')
  @RequiresScope('users:write')
  @HttpCode(204)
  @IdParam
  @ApiOperation({ operationId: 'deleteUser', summary: 'Delete a user; the extension becomes free' })
  @ApiNoContentResponse({ description: 'Deleted; Asterisk drops the extension at the next apply' })
  @ApiErrorResponses({
    400: 'id is not a UUID, or a query parameter was sent',
    ...TOKEN_ERRORS,
    404: 'USER_NOT_FOUND: no user with this id',
  })
  remove(@Param('id', UuidParam) id: string, @Query(NoFieldsPipe) _query: unknown): Promise<void> {
    return this.users.remove(id);
  }

  @Post(':id/sip-password')
  @RequiresScope('users:write')
  @HttpCode(200)
  @IdParam
  @ApiOperation({
    operationId: 'rotateSipPassword',
    summary: 'Rotate the SIP password; the old one stops working after the next apply',
    description: 'Takes no body: send none, or an empty JSON object.',
  })
  @ApiOkResponse({ type: SipPasswordDto, description: 'The new SIP password (shown only here)' })
  @ApiErrorResponses({
    400: 'id is not a UUID, or the body or query has a field (this route takes none)',
    ...TOKEN_ERRORS,
    404: 'USER_NOT_FOUND: no user with this id',
    ...BODY_ERRORS,
  })
  rotate(
    @Param('id', UuidParam) id: string,
    @Query(NoFieldsPipe) _query: unknown,
    @Body(NoFieldsPipe) _body: unknown,
  ): Promise<SipPasswordDto> {
    return this.users.rotateSipPassword(id);
  }
}
