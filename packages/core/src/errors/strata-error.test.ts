import { describe, expect, it } from 'vitest';
import { StrataError } from './strata-error.js';

describe('StrataError', () => {
  it('carries a code, a cause and details', () => {
    const cause = new Error('disk');
    const error = new StrataError('IO_ERROR', 'could not read', { cause, details: { path: '/x' } });
    expect(error.code).toBe('IO_ERROR');
    expect(error.cause).toBe(cause);
    expect(error.details).toEqual({ path: '/x' });
    expect(error).toBeInstanceOf(Error);
  });

  it('isInstance recognises errors from another copy by the global symbol, and filters by code', () => {
    const foreign = Object.assign(new Error('x'), { [Symbol.for('strata.error')]: true, code: 'ABORTED' });
    expect(StrataError.isInstance(foreign)).toBe(true);
    expect(StrataError.isInstance(foreign, 'ABORTED')).toBe(true);
    expect(StrataError.isInstance(foreign, 'IO_ERROR')).toBe(false);
    expect(StrataError.isInstance(new Error('plain'))).toBe(false);
    expect(StrataError.isInstance(null)).toBe(false);
  });
});
