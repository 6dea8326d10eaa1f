import type { ValidationError } from 'class-validator';

/**
 * The order in which a property's failed rules are worth telling: an unknown or repeated
 * field first, then a missing one, then the wrong type, then size, then content. Only the
 * first is told, so `{}` says "name is required" rather than every rule a missing name fails.
 */
const PRIORITY = [
  'whitelistValidation',
  'singleValue',
  'isDefined',
  'isString',
  'isBoolean',
  'integerInRange',
  'codePointLength',
  'maxLength',
  'matches',
  'isMailbox',
];

const rank = (constraint: string): number => {
  const i = PRIORITY.indexOf(constraint);
  return i === -1 ? PRIORITY.length : i;
};

/** One message per property that failed, nested properties included. */
export function problemMessages(errors: ValidationError[]): string[] {
  return fieldProblems(errors).map((p) => p.message);
}

/** The same messages, each with the property it is about (a nested one by its path). */
export function fieldProblems(
  errors: ValidationError[],
  parent = '',
): { field: string; message: string }[] {
  return errors.flatMap((e) => {
    const field = parent ? `${parent}.${e.property}` : e.property;
    const constraints = Object.entries(e.constraints ?? {});
    constraints.sort(([a], [b]) => rank(a) - rank(b));
    const own = constraints.length > 0 ? [{ field, message: constraints[0][1] }] : [];
    return [...own, ...fieldProblems(e.children ?? [], field)];
  });
}
