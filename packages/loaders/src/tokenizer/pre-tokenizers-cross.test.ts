import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SplitPreTokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { compileExpressions, preTokenizerSpec, splitWithExpressions } from './pre-tokenizers.js';

/**
 * Cross-check of the JavaScript forms of the pre-tokenizer expressions against the models' original (Oniguruma)
 * expressions as `@huggingface/tokenizers` translates them independently.
 */
const fixtures = fileURLToPath(new URL('../../../../../shared/fixtures/', import.meta.url));
const CONTRACTIONS = "(?i:'s|'t|'re|'ve|'m|'ll|'d)";
const ORIGINALS: Record<string, string> = {
  'gpt-2': "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
  'llama-bpe': `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`,
  qwen2: `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`,
  'gpt-4o': `[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+${CONTRACTIONS}?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*${CONTRACTIONS}?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`,
  tekken:
    '[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+',
};

const texts = [
  ...readdirSync(`${fixtures}vocab`)
    .filter((name) => name.endsWith('.inp'))
    .flatMap((name) => readFileSync(`${fixtures}vocab/${name}`, 'utf8').split('\n__ggml_vocab_test__\n')),
  "I'M here, DON'T go; we'll see 'em — they've 3.14159 and 1234567 items\r\n\r\n\tnext\u00a0line\u0085x\u2028y \ufeffz",
  'HTTPServerError in camelCaseWords and ÀÉÎõü façade naïve Ωmega ǅemal',
  '    indented\n        more   \n\n\n trailing   ',
  'emoji 👩‍💻🏳️‍🌈 mixed中文字符 and العربية and हिन्दी १२३ ٣٤٥',
];

describe.each(Object.entries(ORIGINALS))('pre-tokenizer %s against @huggingface/tokenizers', (name, original) => {
  const ours = compileExpressions(preTokenizerSpec(name).expressions);
  const theirs = new SplitPreTokenizer({
    type: 'Split',
    pattern: { Regex: original },
    behavior: 'Isolated',
    invert: false,
  } as never);

  it('splits every text the same way', () => {
    for (const text of texts)
      expect(splitWithExpressions(text, ours), JSON.stringify(text)).toEqual(theirs.pre_tokenize_text(text));
  });
});
