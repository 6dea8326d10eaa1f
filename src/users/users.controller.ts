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
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiPayloadTooLargeResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { ErrorResponseDto } from '../common/errors/error-response.dto';
import { CreateUserDto } from './dto/create-user.dto';
import { ListUsersQueryDto } from './dto/list-users-query.dto';
import { CreatedUserDto, SipPasswordDto, UserListDto } from './dto/user-response.dto';
import { UsersService } from './users.service';

const UuidParam = new ParseUUIDPipe({
  exceptionFactory: () => new BadRequestException('id must be a UUID'),
});

@ApiTags('users')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorResponseDto, description: 'Missing or wrong bearer token' })
@ApiBadRequestResponse({
  type: ErrorResponseDto,
  description: 'Invalid input; the message says what',
})
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Post()
  @ApiOperation({ summary: 'Create a user with the lowest free extension and SIP credentials' })
  @ApiCreatedResponse({ type: CreatedUserDto })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description: 'Duplicate email, or no free extension left',
  })
  @ApiPayloadTooLargeResponse({ type: ErrorResponseDto, description: 'Body over 16 KB' })
  create(@Body() dto: CreateUserDto): Promise<CreatedUserDto> {
    return this.users.create(dto);
  }

  @Get()
  @ApiOperation({ summary: 'List users with their extensions, ordered by extension' })
  @ApiOkResponse({ type: UserListDto })
  list(@Query() query: ListUsersQueryDto): Promise<UserListDto> {
    return this.users.list(query);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a user; the extension becomes free' })
  @ApiNoContentResponse()
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  remove(@Param('id', UuidParam) id: string): Promise<void> {
    return this.users.remove(id);
  }

  @Post(':id/sip-password')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Rotate the SIP password; the old one stops working after the next apply',
  })
  @ApiOkResponse({ type: SipPasswordDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  rotate(@Param('id', UuidParam) id: string): Promise<SipPasswordDto> {
    return this.users.rotateSipPassword(id);
  }
}
