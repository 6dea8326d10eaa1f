import { BadRequestException, Injectable, PipeTransform } from '@nestjs/common';

/**
 * For a route that takes no body (or no query parameters): any field sent is refused by
 * name, as the DTO routes refuse an unknown one, instead of being silently ignored.
 */
@Injectable()
export class NoFieldsPipe implements PipeTransform {
  transform(value: unknown): unknown {
    const fields = value !== null && typeof value === 'object' ? Object.keys(value) : [];
    if (fields.length > 0) {
      throw new BadRequestException(fields.map((f) => `property ${f} should not exist`));
    }
    return value;
  }
}
