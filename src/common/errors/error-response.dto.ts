import { ApiProperty } from '@nestjs/swagger';
import { ERROR_CODES, type ErrorCode } from './domain-errors';

/** The body of every error response. */
export class ErrorResponseDto {
  @ApiProperty({ type: 'integer', example: 400, description: 'The HTTP status, repeated' })
  statusCode!: number;

  // Listed from ERROR_CODES, the list the exception filter maps: a new code reaches the
  // document with the code that throws it.
  @ApiProperty({
    enum: ERROR_CODES,
    example: 'BAD_REQUEST',
    description: 'Machine-readable code, one of a fixed list (each always comes with one status)',
  })
  error!: ErrorCode;

  @ApiProperty({ example: 'name is required', description: 'What was wrong, for a person' })
  message!: string;

  @ApiProperty({
    example: '5b0c2f7e-3d4a-4d8e-9a61-0f2b7c1d9e33',
    description: 'Also sent as X-Request-Id; quote it to find the request in the log',
  })
  requestId!: string;
}
