import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { RequiresScope } from '../common/access/requires-scope.decorator';
import { ApiErrorResponses, TOKEN_ERRORS } from '../common/errors/api-error-responses';
import { NoFieldsPipe } from '../common/validation/no-fields.pipe';
import { ApplyPreviewService } from './apply-preview.service';
import { NodeListDto } from './dto/node.dto';
import { NodeProbe } from './node-probe.service';

@ApiTags('apply')
@ApiBearerAuth()
@Controller('nodes')
export class NodesController {
  constructor(
    private readonly probe: NodeProbe,
    private readonly preview: ApplyPreviewService,
  ) {}

  @Get()
  @RequiresScope('apply')
  @ApiOperation({
    operationId: 'listNodes',
    summary:
      'The Asterisk nodes an apply configures, whether each answers, and whether it is behind',
    description:
      'Each node is asked `core show version` with a short timeout (at most 3 s), never queued behind an apply; answers are reused for 2 s.',
  })
  @ApiOkResponse({ type: NodeListDto, description: 'Every node' })
  @ApiErrorResponses({ 400: 'A query parameter was sent (this route takes none)', ...TOKEN_ERRORS })
  async list(@Query(NoFieldsPipe) _query: unknown): Promise<NodeListDto> {
    const [health, status] = await Promise.all([this.probe.all(), this.preview.nodeStatus()]);
    const pending = new Map(status.map((s) => [s.name, s.pending]));
    return {
      items: health.map(({ node, answers, version, problem }) => ({
        name: node.name,
        transport: node.transport,
        host: node.ssh?.host ?? null,
        answers,
        version,
        problem,
        pending: pending.get(node.name) ?? true,
      })),
    };
  }
}
