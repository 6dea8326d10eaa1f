import { Controller, Get, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { RequiresScope } from '../common/access/requires-scope.decorator';
import { ApiErrorResponses, TOKEN_ERRORS } from '../common/errors/api-error-responses';
import { NoFieldsPipe } from '../common/validation/no-fields.pipe';
import { PortalMetrics } from './portal-metrics';

@ApiTags('metrics')
@ApiBearerAuth()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: PortalMetrics) {}

  @Get()
  @RequiresScope('metrics:read')
  @ApiOperation({
    operationId: 'getMetrics',
    summary: 'Prometheus metrics, in the text exposition format (0.0.4)',
    description:
      'For Prometheus, a key with only metrics:read (it reads no user and runs no apply): configure `authorization: {credentials: <key>}` (sent as a bearer credential). The gauges on users, pending config and phones are computed at scrape time.',
  })
  @ApiOkResponse({
    description: 'The metrics, as text/plain; version=0.0.4',
    content: { 'text/plain': { schema: { type: 'string' } } },
  })
  @ApiErrorResponses({ 400: 'A query parameter was sent (this route takes none)', ...TOKEN_ERRORS })
  async scrape(
    @Query(NoFieldsPipe) _query: unknown,
    @Res({ passthrough: true }) res: Response,
  ): Promise<string> {
    const text = await this.metrics.render();
    res.setHeader('Content-Type', this.metrics.registry.contentType);
    return text;
  }
}
