import { StrataError, type StrataErrorCode } from '@strata/core';

/**
 * A checked view of one value inside an untrusted JSON document. Each accessor either returns the value in the shape
 * asked for or throws a {@link StrataError} whose message names the file, the JSON path, what was expected and what was
 * found, so a reader never dereferences a field it has not checked.
 */
export class JsonShape {
  /**
   * @param value the value at this place.
   * @param path its JSON path for messages (`model.vocab["a"]`).
   * @param file the file name for messages (`tokenizer.json`).
   * @param code the error code raised on a mismatch.
   */
  constructor(
    readonly value: unknown,
    readonly path: string,
    readonly file: string,
    readonly code: StrataErrorCode,
  ) {}

  /** The shape of the document's root. */
  static root(value: unknown, file: string, code: StrataErrorCode): JsonShape {
    return new JsonShape(value, '(root)', file, code);
  }

  /** True when the value is `undefined` or `null` (an optional field left out). */
  get absent(): boolean {
    return this.value === undefined || this.value === null;
  }

  /** The error for a value that is not what was expected here. */
  fail(expected: string): StrataError {
    return new StrataError(
      this.code,
      `${this.file}: ${this.path} should be ${expected}, found ${describe(this.value)}; the file is malformed, re-export it`,
      { details: { file: this.file, path: this.path } },
    );
  }

  /** The field `key` of this object (which must be an object). */
  field(key: string): JsonShape {
    const record = this.object();
    const value = Object.hasOwn(record, key) ? record[key] : undefined;
    return new JsonShape(value, this.path === '(root)' ? key : `${this.path}.${key}`, this.file, this.code);
  }

  /** The value as a plain object (not an array, not null). */
  object(): Readonly<Record<string, unknown>> {
    if (typeof this.value !== 'object' || this.value === null || Array.isArray(this.value))
      throw this.fail('an object');
    return this.value as Readonly<Record<string, unknown>>;
  }

  /** The entries of this object, each as a shape. */
  entries(): [string, JsonShape][] {
    return Object.entries(this.object()).map(([key, value]) => [
      key,
      new JsonShape(value, `${this.path}[${JSON.stringify(key)}]`, this.file, this.code),
    ]);
  }

  /** The elements of this array, each as a shape. */
  elements(): JsonShape[] {
    if (!Array.isArray(this.value)) throw this.fail('an array');
    return this.value.map((value, index) => new JsonShape(value, `${this.path}[${index}]`, this.file, this.code));
  }

  /** The value as a string. */
  string(): string {
    if (typeof this.value !== 'string') throw this.fail('a string');
    return this.value;
  }

  /** The value as a boolean. */
  boolean(): boolean {
    if (typeof this.value !== 'boolean') throw this.fail('true or false');
    return this.value;
  }

  /** The value as a finite number. */
  number(): number {
    if (typeof this.value !== 'number' || !Number.isFinite(this.value)) throw this.fail('a finite number');
    return this.value;
  }

  /** The value as a non-negative safe integer (an id, a count). */
  index(): number {
    if (typeof this.value !== 'number' || !Number.isSafeInteger(this.value) || this.value < 0) {
      throw this.fail('a non-negative integer');
    }
    return this.value;
  }

  /** `undefined` when absent, else the value read by `read`. */
  optional<T>(read: (shape: JsonShape) => T): T | undefined {
    return this.absent ? undefined : read(this);
  }
}

/** A short description of a JSON value for messages (type and a clipped rendering). */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') return 'an object';
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return `${typeof value} ${text.length > 40 ? `${text.slice(0, 40)}…` : text}`;
}

/** Parses JSON text, raising `code` (not a `SyntaxError`) when it is not JSON. */
export function parseJsonText(text: string, file: string, code: StrataErrorCode): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new StrataError(
      code,
      `${file} is not valid JSON (${(cause as Error).message}); re-download or re-export it`,
      {
        cause,
        details: { file },
      },
    );
  }
}
