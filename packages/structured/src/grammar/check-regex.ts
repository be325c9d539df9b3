import { StrataError } from '@strata/core';

/** Regex constructs a grammar cannot express (they look around or back), with what to say about each. */
const UNSUPPORTED: readonly (readonly [RegExp, string])[] = [
  [/\(\?<?[=!]/y, 'lookaround assertions'],
  [/\\[1-9]/y, 'back-references'],
  [/\\k</y, 'named back-references'],
  [/\\[bB]/y, 'word-boundary assertions'],
];

/**
 * Checks a regular expression for constrained generation: it must be valid JavaScript syntax (`u` flag) and use no
 * lookaround, back-reference or word-boundary. The whole output must match (it is anchored at both ends; a leading `^`
 * and trailing `$` are allowed and ignored). Throws `INVALID_GRAMMAR` with the column of the problem.
 */
export function checkRegex(pattern: string): string {
  try {
    new RegExp(pattern, 'u');
  } catch (error) {
    throw new StrataError(
      'INVALID_GRAMMAR',
      `The regular expression ${JSON.stringify(pattern)} is invalid: ${(error as Error).message}.`,
      {
        cause: error,
        details: { pattern },
      },
    );
  }
  for (let index = 0; index < pattern.length; index++) {
    if (pattern[index] === '\\' && !/[1-9kbB]/.test(pattern[index + 1] ?? '')) {
      index++;
      continue;
    }
    for (const [construct, what] of UNSUPPORTED) {
      construct.lastIndex = index;
      if (construct.test(pattern)) {
        throw new StrataError(
          'INVALID_GRAMMAR',
          `The regular expression uses ${what} at column ${index + 1}, which constrained generation cannot enforce; rewrite it without them.`,
          { details: { pattern, line: 1, column: index + 1 } },
        );
      }
    }
  }
  return pattern.replace(/^\^/, '').replace(/(?<!\\)\$$/, '');
}
