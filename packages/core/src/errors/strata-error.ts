import type { StrataErrorCode } from './error-code.js';

const MARKER = Symbol.for('strata.error');

/** Options for {@link StrataError}: the underlying cause and structured details for programs. */
export interface StrataErrorOptions {
  /** The error that led to this one, kept for debugging. */
  readonly cause?: unknown;
  /** Machine-readable facts about the failure (a tensor name, an offset, a limit). */
  readonly details?: Readonly<Record<string, unknown>>;
}

/**
 * The one error type strata throws on bad input or failed operations. `code` is stable; `message` says what to do.
 * Use {@link StrataError.isInstance} rather than `instanceof`: it also recognises errors from a duplicate install.
 */
export class StrataError extends Error {
  /** Stable machine-readable code. */
  readonly code: StrataErrorCode;
  /** Structured facts about the failure. */
  readonly details: Readonly<Record<string, unknown>>;
  constructor(code: StrataErrorCode, message: string, options: StrataErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StrataError';
    this.code = code;
    this.details = options.details ?? {};
    // The global-symbol brand lets isInstance recognise errors from a duplicate install of @strata/core.
    Object.defineProperty(this, MARKER, { value: true, enumerable: false });
  }

  /** True when `value` is a StrataError from any copy of this package; narrows to a given code when one is passed. */
  static isInstance(value: unknown, code?: StrataErrorCode): value is StrataError {
    if (typeof value !== 'object' || value === null || (value as Record<symbol, unknown>)[MARKER] !== true) {
      return false;
    }
    return code === undefined || (value as StrataError).code === code;
  }
}
