import { Controller, Get, HttpStatus, Res } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../common/access/public.decorator';
import { ApiErrorResponses, TOKEN_ERRORS } from '../common/errors/api-error-responses';
import { DatabaseRepository } from '../database/database.repository';
import { HealthDto } from './dto/health.dto';

const PROBE_TIMEOUT_MS = 2000;

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(private readonly db: DatabaseRepository) {}

  @Public()
  @Get()
  // No token, and no query validation: a load balancer may add a cache-buster parameter.
  @ApiOperation({
    operationId: 'getHealth',
    summary: 'Whether the portal is up and reaches its database',
  })
  @ApiOkResponse({ type: HealthDto, description: 'Up, and the database answers' })
  @ApiServiceUnavailableResponse({
    type: HealthDto,
    description: 'The database is unreachable, or does not answer within 2 s',
  })
  @ApiErrorResponses({ 500: TOKEN_ERRORS[500] })
  async check(@Res({ passthrough: true }) res: Response): Promise<HealthDto> {
    const up = await this.probe();
    if (!up) res.status(HttpStatus.SERVICE_UNAVAILABLE);
    return { status: up ? 'ok' : 'error', database: up ? 'up' : 'down' };
  }

  private async probe(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), PROBE_TIMEOUT_MS);
    });
    try {
      return await Promise.race([this.db.ping(), timeout]);
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }
}
