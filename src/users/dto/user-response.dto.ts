import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { EMAIL_MAX_LENGTH, NAME_MAX_LENGTH, NAME_PATTERN } from './create-user.dto';
import { RegistrationDto } from '../../registration/dto/registration.dto';

const SIP_PASSWORD = {
  example: 'q3Vb7xK2mT9pLw4ZcR8sN1eY',
  pattern: '^[A-Za-z0-9]{24}$',
  minLength: 24,
  maxLength: 24,
} as const;

export class UserDto {
  @ApiProperty({ format: 'uuid', example: '3f2b8c1e-6d0a-4c35-9d1e-2a7b5c9e8f10' })
  id!: string;

  @ApiProperty({
    example: 'Alice Smith',
    minLength: 1,
    maxLength: NAME_MAX_LENGTH,
    pattern: NAME_PATTERN.source,
  })
  name!: string;

  @ApiProperty({ example: 'alice@example.com', format: 'email', maxLength: EMAIL_MAX_LENGTH })
  email!: string;

  @ApiProperty({ type: 'integer', example: 1000, description: 'SIP extension number' })
  extension!: number;

  @ApiProperty({ example: '1000', description: 'SIP digest username' })
  sipUsername!: string;

  @ApiProperty({ example: '2026-11-25T10:00:00.000Z', format: 'date-time' })
  createdAt!: string;
}

/** A listed user: `registration` only with `include=registration` or a registration filter. */
export class ListedUserDto extends UserDto {
  @ApiPropertyOptional({
    type: RegistrationDto,
    description:
      'Whether the phone is registered; userAgent, expiresAt and viaAddress are null here',
  })
  registration?: RegistrationDto;
}

export class UserDetailDto extends UserDto {
  @ApiProperty({
    type: RegistrationDto,
    description: 'Whether the phone is registered, and from where',
  })
  registration!: RegistrationDto;
}

export class CreatedUserDto extends UserDto {
  @ApiProperty({
    ...SIP_PASSWORD,
    description: 'SIP password: shown in this response only and never again',
  })
  sipPassword!: string;
}

export class UserListDto {
  @ApiProperty({ type: [ListedUserDto] })
  items!: ListedUserDto[];

  @ApiProperty({
    type: 'integer',
    example: 1,
    description: 'Users matching the search and the registration filter, before limit/offset',
  })
  total!: number;
}

export class SipPasswordDto {
  @ApiProperty({
    ...SIP_PASSWORD,
    description: 'The new SIP password; Asterisk uses it after the next apply',
  })
  sipPassword!: string;
}
