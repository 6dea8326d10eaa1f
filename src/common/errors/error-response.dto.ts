import { ApiProperty } from '@nestjs/swagger';

/** The body of every error response. */
export class ErrorResponseDto {
  @ApiProperty({ type: 'integer', example: 400, description: 'The HTTP status, repeated' })
  statusCode!: number;

  // A string rather than an enum: a generated client then keeps working when a code is
  // added (some generators refuse an enum value they were not built with).
  @ApiProperty({
    example: 'BAD_REQUEST',
    description:
      'Machine-readable code: BAD_REQUEST, UNAUTHORIZED, NOT_FOUND, NOT_ACCEPTABLE, PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE, TOO_MANY_REQUESTS, USER_NOT_FOUND, DUPLICATE_EMAIL, EXTENSION_POOL_EXHAUSTED, IMPORT_INVALID, DATABASE_UNAVAILABLE or INTERNAL_ERROR',
  })
  error!: string;

  @ApiProperty({ example: 'name is required', description: 'What was wrong, for a person' })
  message!: string;

  @ApiProperty({
    example: '5b0c2f7e-3d4a-4d8e-9a61-0f2b7c1d9e33',
    description: 'Also sent as X-Request-Id; quote it to find the request in the log',
  })
  requestId!: string;
}
