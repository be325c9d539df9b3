import { tokenizerFromJson } from '../tokenizer/json-tokenizer.js';
import { codesOf, type FuzzTarget } from './fuzz-target.js';
import { mutateJson, mutateText } from './json-mutate.js';

/** One `tokenizer.json` input: the file's text (possibly not JSON), its tokenizer_config and generation_config. */
export interface TokenizerInput {
  /** tokenizer.json text. */
  readonly tokenizer: string;
  /** tokenizer_config.json, parsed. */
  readonly config: unknown;
  /** generation_config.json, parsed. */
  readonly generation: unknown;
}

/** A tokenizer seed: the parsed files. */
export interface TokenizerSeed {
  /** tokenizer.json, parsed. */
  readonly tokenizer: unknown;
  /** tokenizer_config.json, parsed. */
  readonly config: unknown;
  /** generation_config.json, parsed. */
  readonly generation: unknown;
}

/** A tiny byte-level BPE tokenizer.json with added tokens and a post-processor, for runs without the fixtures. */
export function builtInTokenizerSeed(): TokenizerSeed {
  const vocab: Record<string, number> = {};
  const letters = ['a', 'b', 'c', 'Ġ', 'Ċ', 'ab', 'abc', 'Ġa'];
  letters.forEach((piece, index) => {
    vocab[piece] = index;
  });
  return {
    tokenizer: {
      version: '1.0',
      added_tokens: [
        { id: 8, content: '<s>', special: true, lstrip: false, rstrip: false, normalized: false, single_word: false },
        { id: 9, content: '</s>', special: true, lstrip: false, rstrip: false, normalized: false, single_word: false },
      ],
      normalizer: { type: 'Sequence', normalizers: [{ type: 'NFC' }] },
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      post_processor: {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
        pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
        special_tokens: { '<s>': { id: '<s>', ids: [8], tokens: ['<s>'] } },
      },
      decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        byte_fallback: false,
        vocab,
        merges: ['a b', 'ab c', 'Ġ a'],
      },
    },
    config: { bos_token: '<s>', eos_token: '</s>', add_bos_token: false },
    generation: { eos_token_id: [9] },
  };
}

const TEXTS = ['abc ab\nc', '<s>a</s> b', '', 'ünïcödé ✓ 日本 🙂', '   \t\r\n'];

/**
 * The tokenizer.json reader: structure-aware mutations of tokenizer.json (or of its configs), a few byte mutations of
 * its text; each accepted tokenizer encodes, decodes, streams, and decodes ids in and out of range.
 */
export function tokenizerTarget(seeds: readonly TokenizerSeed[]): FuzzTarget<TokenizerInput> {
  const donors = seeds.map((seed) => seed.tokenizer);
  return {
    name: 'tokenizer',
    mutate: (random) => {
      const seed = random.pick(seeds);
      const choice = random.next();
      if (choice < 0.6) {
        return {
          tokenizer: JSON.stringify(mutateJson(seed.tokenizer, random, donors)),
          config: seed.config,
          generation: seed.generation,
        };
      }
      if (choice < 0.75) {
        return {
          tokenizer: JSON.stringify(seed.tokenizer),
          config: mutateJson(seed.config, random),
          generation: mutateJson(seed.generation, random),
        };
      }
      return {
        tokenizer: mutateText(JSON.stringify(seed.tokenizer), random),
        config: seed.config,
        generation: seed.generation,
      };
    },
    exercise: async (input) => {
      let tokenizer: ReturnType<typeof tokenizerFromJson> | undefined;
      const codes = await codesOf(() => {
        tokenizer = tokenizerFromJson(input.tokenizer, input.config as never, input.generation as never);
      });
      if (tokenizer === undefined) return codes;
      const loaded = tokenizer;
      for (const text of TEXTS) {
        const ids = loaded.encode(text, { parseSpecial: true, addSpecial: true });
        loaded.decode(ids);
        const stream = loaded.createStreamDecoder({ atTextStart: true });
        for (const id of ids) stream.push(id);
        stream.flush();
      }
      const size = loaded.vocabularySize;
      for (const id of [0, size - 1, size, -1, 1e9, 0.5]) {
        const inside = Number.isInteger(id) && id >= 0 && id < size;
        const found = await codesOf(() => {
          loaded.decode([id]);
          loaded.tokenToBytes(id);
        });
        // An id outside the vocabulary must be refused as such; one inside may still fail in a damaged file.
        if (!inside && found[0] !== 'TOKEN_OUT_OF_RANGE') throw new Error(`id ${id} of ${size} was not refused`);
        if (inside) codes.push(...found.map((code) => `decode:${code}`));
      }
      return codes;
    },
    serialize: (input) => new TextEncoder().encode(JSON.stringify(input)),
  };
}
