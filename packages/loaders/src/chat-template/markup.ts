import { is, type JinjaValue, str } from './runtime-values.js';

/**
 * MarkupSafe's `Markup` as jinja2 (without auto-escaping, as Hugging Face runs it) lets templates meet it: `|e`,
 * `|escape`, `|forceescape` and `|safe` return markup; markup is not escaped again by `|e`; `+` and `%` with markup
 * escape the plain strings they bring in, and so does the markup's `.replace()` for its replacement. Everything else
 * (`~`, filters that build new text) gives plain strings, as jinja2 does with auto-escaping off. Markup prints as its
 * text. Values are marked by identity: template values are immutable objects.
 */
const marked = new WeakSet<JinjaValue>();

/** A markup string (text that is already safe HTML). */
export function markup(text: string): JinjaValue {
  const value = str(text);
  marked.add(value);
  return value;
}

/** True for markup strings. */
export function isMarkup(value: JinjaValue): boolean {
  return marked.has(value);
}

/** HTML-escapes `& < > " '` as MarkupSafe does. */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (character) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;' })[character]!,
  );
}

/** A string's text as markup takes it in: markup unchanged, plain text escaped. */
export function escapedText(value: JinjaValue & { value: string }): string {
  return isMarkup(value) ? value.value : escapeHtml(value.value);
}

/** An argument of markup's `%`: plain strings escaped, other values unchanged. */
export function escapeArgument(value: JinjaValue): JinjaValue {
  return is.string(value) && !isMarkup(value) ? str(escapeHtml(value.value)) : value;
}
