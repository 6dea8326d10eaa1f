import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** The body of every error response. */
export class ErrorResponseDto {
  @ApiProperty({ example: 400 })
  statusCode!: number;

  @ApiProperty({ example: 'BAD_REQUEST', description: 'Machine-readable error code' })
  error!: string;

  @ApiProperty({
    example: 'property extension should not exist; name must be 1 to 100 characters after trimming',
  })
  message!: string;

  @ApiPropertyOptional({ example: '5b0c2f7e-3d4a-4d8e-9a61-0f2b7c1d9e33' })
  requestId?: string;
}
