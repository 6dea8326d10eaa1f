import { ApiProperty } from '@nestjs/swagger';

export class NodeDto {
  @ApiProperty({ example: 'pbx-b' })
  name!: string;

  @ApiProperty({ enum: ['local', 'ssh'], example: 'ssh' })
  transport!: 'local' | 'ssh';

  @ApiProperty({
    type: String,
    nullable: true,
    example: 'pbx-b.example.net',
    description: 'The SSH host; null for the local node',
  })
  host!: string | null;

  @ApiProperty({ example: true, description: 'Whether Asterisk answered `core show version` now' })
  answers!: boolean;

  @ApiProperty({
    type: String,
    nullable: true,
    example: '22.7.0',
    description: "Asterisk's version; null when the node did not answer",
  })
  version!: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    example: null,
    description: 'Why the node did not answer; null when it did',
  })
  problem!: string | null;

  @ApiProperty({
    example: false,
    description: 'True when the node does not have what an apply would write now',
  })
  pending!: boolean;
}

export class NodeListDto {
  @ApiProperty({ type: [NodeDto], description: 'Every configured node, in the configured order' })
  items!: NodeDto[];
}
