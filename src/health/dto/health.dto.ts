import { ApiProperty } from '@nestjs/swagger';

export class HealthDto {
  @ApiProperty({
    enum: ['ok', 'error'],
    example: 'ok',
    description: 'error when the database is down',
  })
  status!: 'ok' | 'error';

  @ApiProperty({ enum: ['up', 'down'], example: 'up' })
  database!: 'up' | 'down';
}
