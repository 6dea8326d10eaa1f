import { ArgumentMetadata, BadRequestException, ValidationPipe } from '@nestjs/common';
import { shapeProblem } from './object-shape';
import { problemMessages } from './validation-messages';

/**
 * The global pipe: unknown fields are refused by name, values are transformed into their
 * DTOs, and each problem is told once, in one message joined by "; ".
 */
export class ApiValidationPipe extends ValidationPipe {
  constructor() {
    super({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      exceptionFactory: (errors) => new BadRequestException(problemMessages(errors)),
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    // Before class-transformer sees it: a query is checked here, where it is read, so a
    // route that reads none (GET /health) never refuses one. Bodies were checked already, by
    // checkBodyShape before the guard; path parameters are plain strings.
    const problem = metadata.type === 'query' ? shapeProblem(value) : undefined;
    if (problem) throw new BadRequestException(problem);
    return super.transform(value, metadata);
  }
}
