/**
 * Rewrites the parts of a `tokenizer.json` that `@huggingface/tokenizers` (0.2) runs differently from the Rust
 * `tokenizers` library the files are written for, into equivalent components it runs right:
 * - `Digits` tests `\d` (ASCII only) where Rust tests `char::is_numeric` (Unicode N: `½`, `٣`, `²`…);
 * - `Punctuation` always merges runs, where Rust's default behaviour (`isolated`) keeps each mark apart; and it
 *   must count ASCII symbols (`$+<=>^`|~`) as punctuation, as Rust's `is_ascii_punctuation` does.
 * Both become a `Split` with the equivalent expression. Everything else is passed through unchanged.
 */
export function compatibleTokenizerJson<T>(json: T): T {
  const record = json as { pre_tokenizer?: unknown };
  if (typeof record !== 'object' || record === null || record.pre_tokenizer == null) return json;
  return { ...record, pre_tokenizer: rewritePreTokenizer(record.pre_tokenizer) } as T;
}

const PUNCTUATION = '[\\p{P}!-/:-@\\[-`{-~]';

function split(expression: string): unknown {
  return { type: 'Split', pattern: { Regex: expression }, behavior: 'Isolated', invert: false };
}

function rewritePreTokenizer(node: unknown): unknown {
  if (typeof node !== 'object' || node === null) return node;
  const component = node as {
    type?: unknown;
    pretokenizers?: unknown;
    individual_digits?: unknown;
    behavior?: unknown;
  };
  switch (component.type) {
    case 'Sequence':
      return Array.isArray(component.pretokenizers)
        ? { ...component, pretokenizers: component.pretokenizers.map(rewritePreTokenizer) }
        : node;
    case 'Digits':
      return split(component.individual_digits === true ? '\\p{N}' : '\\p{N}+');
    case 'Punctuation': {
      const behavior = typeof component.behavior === 'string' ? component.behavior.toLowerCase() : 'isolated';
      if (behavior === 'isolated') return split(PUNCTUATION);
      if (behavior === 'contiguous') return split(`${PUNCTUATION}+`);
      return node;
    }
    default:
      return node;
  }
}
