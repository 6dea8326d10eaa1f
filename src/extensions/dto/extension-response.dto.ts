import { ApiProperty } from '@nestjs/swagger';

export class ExtensionDto {
  @ApiProperty({ type: 'integer', example: 1000, description: 'The extension number' })
  number!: number;

  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    example: '3f2b8c1e-6d0a-4c35-9d1e-2a7b5c9e8f10',
    description: 'The user who has it; null: free',
  })
  userId!: string | null;
}

export class ExtensionListDto {
  @ApiProperty({ type: [ExtensionDto] })
  items!: ExtensionDto[];

  @ApiProperty({
    type: 'integer',
    example: 1000,
    description: 'Numbers matching the status, before limit/offset',
  })
  total!: number;
}
