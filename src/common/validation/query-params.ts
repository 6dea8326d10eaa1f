import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsOptional } from 'class-validator';
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
