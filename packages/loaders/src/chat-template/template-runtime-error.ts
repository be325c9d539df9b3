/** The Python exception class a template failure corresponds to, as jinja2 would raise it. */
export type TemplateErrorKind =
  | 'TemplateError'
  | 'UndefinedError'
  | 'SecurityError'
  | 'TypeError'
  | 'ValueError'
  | 'ZeroDivisionError'
  | 'OverflowError'
  | 'RecursionError';

/** A failure while rendering, named after the Python exception jinja2 raises in the same place. */
export class TemplateRuntimeError extends Error {
  /** The Python exception class. */
  readonly kind: TemplateErrorKind;
  /** Where in the template it happened (a short rendering of the expression or statement), once known. */
  where: string | undefined;

  constructor(kind: TemplateErrorKind, message: string) {
    super(message);
    this.name = 'TemplateRuntimeError';
    this.kind = kind;
  }
}
