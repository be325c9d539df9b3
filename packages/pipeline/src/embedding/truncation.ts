import type { Tokenizer } from '@strata/loaders';

/**
 * The ids of `text` with the tokenizer's special tokens (BERT's `[CLS]`/`[SEP]`, BOS/EOS), cut to `maximumLength` by
 * dropping content tokens from the end while keeping the special tokens around them (what Hugging Face tokenizers
 * do with `truncation=True`). Returns the full ids when they fit or when `maximumLength` is undefined.
 */
export function tokenizeForEmbedding(tokenizer: Tokenizer, text: string, maximumLength?: number): number[] {
  const withSpecial = tokenizer.encode(text, { addSpecial: true });
  if (maximumLength === undefined || withSpecial.length <= maximumLength) return withSpecial;
  const content = tokenizer.encode(text);
  const specials = withSpecial.length - content.length;
  const prefix = prefixLength(withSpecial, content);
  const kept = Math.max(0, maximumLength - specials);
  return [
    ...withSpecial.slice(0, prefix),
    ...content.slice(0, kept),
    ...withSpecial.slice(prefix + content.length),
  ].slice(0, maximumLength);
}

/** Where `content` starts inside `whole` (the number of leading special tokens); 0 when it is not found whole. */
function prefixLength(whole: readonly number[], content: readonly number[]): number {
  for (let start = 0; start + content.length <= whole.length; start++) {
    let same = true;
    for (let index = 0; index < content.length && same; index++) same = whole[start + index] === content[index];
    if (same) return start;
  }
  return 0;
}
