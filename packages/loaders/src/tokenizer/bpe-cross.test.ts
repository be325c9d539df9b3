import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { openGgufFile } from '../node/gguf-files.js';
import { tokenizerFromGguf } from './gguf-tokenizer.js';
import { tokenizerFromJson } from './json-tokenizer.js';

/**
 * The GGUF byte-level BPE path and the tokenizer.json path (`@huggingface/tokenizers`) are independent
 * implementations. Given GPT-2's 50k vocabulary under the pre-tokenizers of other families (llama3 with
 * ignore_merges, qwen2, gpt-4o), they must agree on every text.
 */
const fixtures = fileURLToPath(new URL('../../../../../shared/fixtures/', import.meta.url));
const CONTRACTIONS = "(?i:'s|'t|'re|'ve|'m|'ll|'d)";
const FAMILIES: [pre: string, original: string, ignoreMerges: boolean][] = [
  [
    'llama-bpe',
    `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`,
    true,
  ],
  [
    'qwen2',
    `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`,
    false,
  ],
  [
    'gpt-4o',
    `[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+${CONTRACTIONS}?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*${CONTRACTIONS}?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`,
    false,
  ],
];

const texts = [
  ...readdirSync(`${fixtures}vocab`)
    .filter((name) => name.endsWith('.inp'))
    .flatMap((name) => readFileSync(`${fixtures}vocab/${name}`, 'utf8').split('\n__ggml_vocab_test__\n')),
  readFileSync(fileURLToPath(new URL('../../../../docs/ARCHITECTURE.md', import.meta.url)), 'utf8'),
];

describe.each(FAMILIES)(
  'GPT-2 vocabulary under the %s pre-tokenizer: GGUF path = tokenizer.json path',
  (pre, original, ignoreMerges) => {
    let tokens: readonly string[];
    let merges: readonly string[];
    beforeAll(async () => {
      const metadata = (await openGgufFile(`${fixtures}vocab/ggml-vocab-gpt-2.gguf`)).metadata;
      tokens = metadata.get('tokenizer.ggml.tokens', 'stringArray');
      merges = metadata.get('tokenizer.ggml.merges', 'stringArray');
    });

    it('encodes every text the same', () => {
      const gguf = tokenizerFromGguf({
        'tokenizer.ggml.model': 'gpt2',
        'tokenizer.ggml.pre': pre,
        'tokenizer.ggml.tokens': tokens,
        'tokenizer.ggml.merges': merges,
      });
      const json = tokenizerFromJson({
        version: '1.0',
        added_tokens: [],
        normalizer: null,
        pre_tokenizer: {
          type: 'Sequence',
          pretokenizers: [
            { type: 'Split', pattern: { Regex: original }, behavior: 'Isolated', invert: false },
            { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
          ],
        },
        post_processor: null,
        decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
        model: {
          type: 'BPE',
          ignore_merges: ignoreMerges,
          vocab: Object.fromEntries(tokens.map((token, id) => [token, id])),
          merges: [...merges],
        },
      });
      for (const text of texts) expect(gguf.encode(text), JSON.stringify(text.slice(0, 60))).toEqual(json.encode(text));
    });
  },
);
