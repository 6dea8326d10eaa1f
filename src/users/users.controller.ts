import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
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
import { CreateUserDto } from './dto/create-user.dto';
import { ListUsersQueryDto } from './dto/list-users-query.dto';
import { UpdateUserDto } from './dto/update-user.dto';
import {
  CreatedUserDto,
  SipPasswordDto,
  UserDetailDto,
  UserDto,
  UserListDto,
} from './dto/user-response.dto';
import { UsersService } from './users.service';

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
    400: 'A parameter is invalid, repeated or unknown (e.g. "limit must be an integer from 1 to 1000", "registration must be one of registered, unreachable, unregistered")',
    ...TOKEN_ERRORS,
    503: 'The database is unreachable (DATABASE_UNAVAILABLE), or a registration filter was given and Asterisk did not answer (ASTERISK_UNAVAILABLE); try again shortly',
  })
  list(@Query() query: ListUsersQueryDto): Promise<UserListDto> {
    return this.users.list(query);
  }

  @Get(':id')
  @RequiresScope('users:read')
  @IdParam
  @ApiOperation({
    operationId: 'getUser',
    summary: 'One user as the list shows it, and whether its phone is registered, from where',
    description:
      'Reads Asterisk (a shared listing at most about 2 s old, then one question per contact) but never fails because of it: when Asterisk does not answer, registration.state is unknown and registration.reason says why.',
  })
  @ApiOkResponse({ type: UserDetailDto, description: 'The user and its registration' })
  @ApiErrorResponses({
    400: 'id is not a UUID, or a query parameter was sent',
    ...TOKEN_ERRORS,
    404: 'USER_NOT_FOUND: no user with this id',
  })
  get(
    @Param('id', UuidParam) id: string,
    @Query(NoFieldsPipe) _query: unknown,
  ): Promise<UserDetailDto> {
    return this.users.get(id);
  }

  @Patch(':id')
  @RequiresScope('users:write')
  @IdParam
  @ApiOperation({
    operationId: 'updateUser',
    summary: "Change a user's name or email; the caller ID reaches Asterisk at the next apply",
    description:
      'Send name, email or both, with the rules of create. The extension never changes (sending it is refused); an empty body is refused as "Nothing to change".',
  })
  @ApiOkResponse({ type: UserDto, description: 'The user as the list shows it' })
  @ApiErrorResponses({
    400: 'id is not a UUID; a field is invalid or unknown (extension included: numbers do not move); nothing to change; or a query parameter was sent',
    ...TOKEN_ERRORS,
    404: 'USER_NOT_FOUND: no user with this id',
    409: 'DUPLICATE_EMAIL: another user has this email',
    ...BODY_ERRORS,
  })
  update(
    @Param('id', UuidParam) id: string,
    @Query(NoFieldsPipe) _query: unknown,
    @Body() dto: UpdateUserDto,
  ): Promise<UserDto> {
    return this.users.update(id, dto);
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
