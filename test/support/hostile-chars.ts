/**
 * Characters that end or split an Asterisk config line, start a comment or a section, or
 * trip up text handling (NUL, line separators, a lone surrogate, combining marks, emoji),
 * mixed with plain ones so that property tests build names around them.
 */
export const HOSTILE_CHARS = [
  '\n',
  '\r',
  '\0',
  '\t',
  '\u2028',
  '\u2029',
  ';',
  '"',
  '[',
  ']',
  '<',
  '>',
  '\\',
  '=',
  ' ',
  '#',
  ',',
  'a',
  'é',
  '\u0301',
  '\ud800',
  '😀',
];
