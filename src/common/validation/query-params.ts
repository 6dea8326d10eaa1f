import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional } from 'class-validator';
import { IntegerInRange, SingleValue } from './validators';

/**
 * Decimal digits only: Number() would also take "", " 7", "1e3" and "0x10", none of which a
 * client means as a count. Anything else stays as sent and fails IntegerInRange.
 */
export const toInteger = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d{1,16}$/.test(value) ? Number(value) : value;

/** An optional integer query parameter (`limit`, `offset`) from `min` to `max`, given once. */
export function IntegerQueryParam(min: number, max: number): PropertyDecorator {
  return applyDecorators(
    IsOptional(),
    Transform(toInteger),
    SingleValue(),
    IntegerInRange(min, max),
  );
}

/** `true` or `false` and nothing else (`dryRun`), given once; anything else stays as sent. */
export function BooleanQueryParam(): PropertyDecorator {
  return applyDecorators(
    IsOptional(),
    Transform(({ value }: { value: unknown }) =>
      value === 'true' ? true : value === 'false' ? false : value,
    ),
    SingleValue(),
    IsBoolean({ message: '$property must be true or false' }),
  );
}

/** `limit`, as every list takes it: a page size from 1 to `max`, documented with its default. */
export function PageLimit(max: number, byDefault: number, example?: number): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({
      type: 'integer',
      ...(example === undefined ? {} : { example }),
      default: byDefault,
      minimum: 1,
      maximum: max,
      description: 'Page size',
    }),
    IntegerQueryParam(1, max),
  );
}

/** `offset`, as every list takes it: how many to skip (`description` says in what order). */
export function PageOffset(max: number, description: string, example?: number): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({
      type: 'integer',
      ...(example === undefined ? {} : { example }),
      default: 0,
      minimum: 0,
      maximum: max,
      description,
    }),
    IntegerQueryParam(0, max),
  );
}
