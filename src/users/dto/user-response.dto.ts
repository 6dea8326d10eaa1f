import { ApiProperty } from '@nestjs/swagger';

export class UserDto {
  @ApiProperty({ format: 'uuid', example: '3f2b8c1e-6d0a-4c35-9d1e-2a7b5c9e8f10' })
  id!: string;

  @ApiProperty({ example: 'Alice Smith' })
  name!: string;

  @ApiProperty({ example: 'alice@example.com' })
  email!: string;

  @ApiProperty({ example: 1000, description: 'SIP extension number' })
  extension!: number;

  @ApiProperty({ example: '1000', description: 'SIP digest username' })
  sipUsername!: string;

  @ApiProperty({ example: '2026-11-25T10:00:00.000Z', format: 'date-time' })
  createdAt!: string;
}

export class CreatedUserDto extends UserDto {
  @ApiProperty({
    example: 'q3Vb7xK2mT9pLw4ZcR8sN1eY',
    description: 'SIP password: shown in this response only and never again',
  })
  sipPassword!: string;
}

export class UserListDto {
  @ApiProperty({ type: [UserDto] })
  items!: UserDto[];

  @ApiProperty({ example: 1, description: 'Users matching the search, before limit/offset' })
  total!: number;
}

export class SipPasswordDto {
  @ApiProperty({
    example: 'q3Vb7xK2mT9pLw4ZcR8sN1eY',
    description: 'The new SIP password; Asterisk uses it after the next apply',
  })
  sipPassword!: string;
}
