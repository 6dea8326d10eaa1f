import { isEmail, ValidateBy, ValidateIf, ValidationOptions } from 'class-validator';

/**
 * Length in code points, as PostgreSQL's varchar counts it (validator's isLength skips
 * variation selectors, so a name could pass it and still overflow the column).
 */
export function CodePointLength(min: number, max: number, options?: ValidationOptions) {
  return ValidateBy(
    {
      name: 'codePointLength',
      constraints: [min, max],
      validator: {
        validate: (value: unknown) => {
          if (typeof value !== 'string') return false;
          const n = [...value].length;
          return n >= min && n <= max;
        },
        defaultMessage: () => `$property must be ${min} to ${max} characters`,
      },
    },
    options,
  );
}

/** A well-formed email address of at most 254 characters; never throws on odd input. */
export function IsMailbox(options?: ValidationOptions) {
  return ValidateBy(
    {
      name: 'isMailbox',
      validator: {
        validate: (value: unknown) => {
          // isEmail throws (URIError) on a lone surrogate instead of answering false.
          if (typeof value !== 'string' || value.length > 254 || /\p{Cs}/u.test(value))
            return false;
          try {
            return isEmail(value);
          } catch {
            return false;
          }
        },
        defaultMessage: () => '$property must be a valid email address of at most 254 characters',
      },
    },
    options,
  );
}

/** A safe integer from `min` to `max`; one message for every way to miss it. */
export function IntegerInRange(min: number, max: number, options?: ValidationOptions) {
  return ValidateBy(
    {
      name: 'integerInRange',
      constraints: [min, max],
      validator: {
        validate: (value: unknown) =>
          typeof value === 'number' && Number.isSafeInteger(value) && value >= min && value <= max,
        defaultMessage: () => `$property must be an integer from ${min} to ${max}`,
      },
    },
    options,
  );
}

/**
 * Not an array: a query parameter given twice (`?limit=2&limit=3`) arrives as one, and the
 * answer should say that rather than how the array fails every other rule.
 */
export function SingleValue(options?: ValidationOptions) {
  return ValidateBy(
    {
      name: 'singleValue',
      validator: {
        validate: (value: unknown) => !Array.isArray(value),
        defaultMessage: () => '$property must be given once',
      },
    },
    options,
  );
}

/** A field that is known but never accepted: the message says why, rather than "should not exist". */
/** Checked only when sent; null is sent, and fails as "must be a string" (nothing is cleared). */
export const WhenSent = (): PropertyDecorator =>
  ValidateIf((_: object, value: unknown) => value !== undefined);

export function Refused(message: string) {
  return ValidateBy({
    name: 'refused',
    validator: { validate: () => false, defaultMessage: () => message },
  });
}

/** For @Transform: a string trimmed before it is validated; anything else as it came. */
export const trim = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? value.trim() : value;
