import { StrataError } from '@strata/core';

/**
 * The pre-tokenizers of byte-level BPE vocabularies, chosen by the GGUF key `tokenizer.ggml.pre`.
 *
 * A pre-tokenizer is a sequence of regular expressions applied one after the other: each one cuts every piece left by
 * the previous ones into its matches and the text between them (nothing is dropped). The expressions are those of the
 * models' own `tokenizer.json` (Hugging Face tokenizers, Oniguruma syntax), written here for JavaScript: `\s` means
 * Unicode White_Space (as in Oniguruma: U+0085 included, U+FEFF not), and `(?i:'s|…)` is spelled out case by case.
 */

/** Unicode White_Space, the meaning of `\s` in the models' Oniguruma expressions. */
const WHITE_SPACE = '\\t\\n\\v\\f\\r \\x85\\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000';

/** Rewrites `\s` and `\S` (inside and outside character classes) into {@link WHITE_SPACE}. */
function toJavaScript(source: string): string {
  let result = '';
  let inClass = false;
  for (let index = 0; index < source.length; index++) {
    const character = source[index] as string;
    if (character === '\\') {
      const next = source[index + 1] as string;
      index++;
      if (next === 's') result += inClass ? WHITE_SPACE : `[${WHITE_SPACE}]`;
      else if (next === 'S') {
        if (inClass) throw new Error('\\S inside a character class is not supported');
        result += `[^${WHITE_SPACE}]`;
      } else result += `\\${next}`;
      continue;
    }
    if (character === '[' && !inClass) inClass = true;
    else if (character === ']' && inClass) inClass = false;
    result += character;
  }
  return result;
}

const CONTRACTIONS = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";
const GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
const LLAMA3 = `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const QWEN2 = `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const UPPER = '[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]';
const LOWER = '[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]';
const TEKKEN = `[^\\r\\n\\p{L}\\p{N}]?${UPPER}*${LOWER}+|[^\\r\\n\\p{L}\\p{N}]?${UPPER}+${LOWER}*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const GPT4O = `[^\\r\\n\\p{L}\\p{N}]?${UPPER}*${LOWER}+${CONTRACTIONS}?|[^\\r\\n\\p{L}\\p{N}]?${UPPER}+${LOWER}*${CONTRACTIONS}?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`;
const BLOOM = ' ?[^(\\s|.,!?…。，、।۔،)]+';
const CJK = '[一-龥ࠀ-一가-퟿]+';
/** DeepSeek LLM's letter class (the cased letters, Lu/Ll/Lt), by code point so no normalization can alter it. */
const DEEPSEEK_LETTERS =
  '\\s?[\\u{41}-\\u{5A}\\u{61}-\\u{7A}\\u{B5}\\u{C0}-\\u{D6}\\u{D8}-\\u{F6}\\u{F8}-\\u{1BA}\\u{1BC}-\\u{1BF}\\u{1C4}-\\u{293}\\u{295}-\\u{2AF}\\u{370}-\\u{373}\\u{376}-\\u{377}\\u{37B}-\\u{37D}\\u{37F}\\u{386}\\u{388}-\\u{38A}\\u{38C}\\u{38E}-\\u{3A1}\\u{3A3}-\\u{3F5}\\u{3F7}-\\u{481}\\u{48A}-\\u{52F}\\u{531}-\\u{556}\\u{10A0}-\\u{10C5}\\u{13A0}-\\u{13F5}\\u{13F8}-\\u{13FD}\\u{1C90}-\\u{1CBA}\\u{1CBD}-\\u{1CBF}\\u{1D00}-\\u{1D2B}\\u{1D6B}-\\u{1D77}\\u{1D79}-\\u{1D9A}\\u{1E00}-\\u{1F15}\\u{1F18}-\\u{1F1D}\\u{1F20}-\\u{1F45}\\u{1F48}-\\u{1F4D}\\u{1F50}-\\u{1F57}\\u{1F59}\\u{1F5B}\\u{1F5D}\\u{1F5F}-\\u{1F7D}\\u{1F80}-\\u{1FB4}\\u{1FB6}-\\u{1FBC}\\u{1FBE}\\u{1FC2}-\\u{1FC4}\\u{1FC6}-\\u{1FCC}\\u{1FD0}-\\u{1FD3}\\u{1FD6}-\\u{1FDB}\\u{1FE0}-\\u{1FEC}\\u{1FF2}-\\u{1FF4}\\u{1FF6}-\\u{1FFC}\\u{2102}\\u{2107}\\u{210A}-\\u{2113}\\u{2115}\\u{2119}-\\u{211D}\\u{2124}\\u{2126}\\u{2128}\\u{212A}-\\u{212D}\\u{212F}-\\u{2134}\\u{2139}\\u{213C}-\\u{213F}\\u{2145}-\\u{2149}\\u{214E}\\u{2183}-\\u{2184}\\u{2C00}-\\u{2C7B}\\u{2C7E}-\\u{2CE4}\\u{2CEB}-\\u{2CEE}\\u{2CF2}-\\u{2CF3}\\u{A640}-\\u{A66D}\\u{A680}-\\u{A69B}\\u{A722}-\\u{A76F}\\u{A771}-\\u{A787}\\u{A78B}-\\u{A78E}\\u{AB70}-\\u{ABBF}\\u{FB00}-\\u{FB06}\\u{FB13}-\\u{FB17}\\u{FF21}-\\u{FF3A}\\u{FF41}-\\u{FF5A}\\u{10400}-\\u{1044F}\\u{104B0}-\\u{104D3}\\u{104D8}-\\u{104FB}\\u{10C80}-\\u{10CB2}\\u{10CC0}-\\u{10CF2}\\u{118A0}-\\u{118DF}\\u{1E900}-\\u{1E943}]+';
const DEEPSEEK3 =
  '[!"#$%&\'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+';

/** How a pre-tokenizer family behaves: its expressions and the flags llama.cpp sets with it. */
export interface PreTokenizerSpec {
  /** The expressions, applied in order. */
  readonly expressions: readonly string[];
  /** Whole pieces found in the vocabulary are taken as one token before any merge (llama3, tekken). */
  readonly ignoreMerges?: boolean;
  /** The family adds BOS by default (overridden by `tokenizer.ggml.add_bos_token`). */
  readonly addBos?: boolean;
  /** Pieces are merged on raw UTF-8 with `▁` for spaces and `<0xXX>` byte tokens, not on GPT-2 byte characters. */
  readonly sentencePieceStyle?: boolean;
  /** The family has no BOS token (chatglm). */
  readonly noBos?: boolean;
}

const FAMILIES: Readonly<Record<string, PreTokenizerSpec>> = {
  default: {
    expressions: ['[\\p{P}$+<=>^~|]+', GPT2, '\\p{N}+', '[0-9][0-9][0-9]'],
  },
  gpt2: { expressions: [GPT2] },
  llama3: { expressions: [LLAMA3], ignoreMerges: true, addBos: true },
  dbrx: { expressions: [LLAMA3] },
  chatglm4: { expressions: [LLAMA3], noBos: true },
  'deepseek-llm': {
    expressions: ['[\\r\\n]', DEEPSEEK_LETTERS, '\\s?[!-/:-~！-／：-～‘-‟　-。]+', '\\s+$', CJK, '\\p{N}+'],
  },
  'deepseek-coder': { expressions: ['[\\r\\n]', '\\s?\\p{L}+', '\\s?\\p{P}+', CJK, '\\p{N}'] },
  'deepseek-v3': { expressions: ['\\p{N}{1,3}', '[一-龥぀-ゟ゠-ヿ]+', DEEPSEEK3] },
  falcon: { expressions: ['[\\p{P}$+<=>^~|`]+', GPT2, '[0-9][0-9][0-9]'] },
  starcoder: { expressions: ['\\p{N}', GPT2] },
  qwen2: { expressions: [QWEN2] },
  qwen35: {
    expressions: [
      `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`,
    ],
  },
  bloom: { expressions: [BLOOM] },
  viking: { expressions: [BLOOM, '\\p{N}'] },
  tekken: { expressions: [TEKKEN], ignoreMerges: true, addBos: true },
  gpt4o: { expressions: [GPT4O] },
  'seed-coder': {
    expressions: [
      `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`,
    ],
  },
  bailingmoe: {
    expressions: [
      "'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+",
    ],
  },
  chameleon: {
    expressions: [
      '<sentinel:[0-9]+>',
      '(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z',
      '([\\t\\n]|    |  )',
      '\\p{N}',
      '[\\p{P}!-/:-@\\[-`{-~]',
      GPT2,
    ],
    addBos: true,
  },
  ufakzeka: {
    expressions: ['[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+'],
  },
  minicpm5: {
    expressions: [
      '\\p{N}{1,3}',
      `${CONTRACTIONS}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}+| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`,
    ],
    ignoreMerges: true,
  },
  gemma4: { expressions: ['[^\\n]+|[\\n]+'], sentencePieceStyle: true },
};

/** `tokenizer.ggml.pre` names and the family each selects (as llama.cpp's vocabulary loader maps them). */
const NAMES: Readonly<Record<string, string>> = {
  default: 'default',
  llama3: 'llama3',
  'llama-v3': 'llama3',
  'llama-bpe': 'llama3',
  falcon3: 'llama3',
  'falcon-h1': 'llama3',
  pixtral: 'llama3',
  'midm-2.0': 'llama3',
  lfm2: 'llama3',
  'deepseek-llm': 'deepseek-llm',
  'deepseek-coder': 'deepseek-coder',
  'deepseek-v3': 'deepseek-v3',
  'hunyuan-dense': 'deepseek-v3',
  falcon: 'falcon',
  mpt: 'gpt2',
  starcoder: 'starcoder',
  refact: 'starcoder',
  'command-r': 'starcoder',
  smollm: 'starcoder',
  codeshell: 'starcoder',
  exaone: 'starcoder',
  'minerva-7b': 'starcoder',
  'gpt-2': 'gpt2',
  'phi-2': 'gpt2',
  'jina-es': 'gpt2',
  'jina-de': 'gpt2',
  'jina-v2-es': 'gpt2',
  'jina-v2-de': 'gpt2',
  'jina-v1-en': 'gpt2',
  'jina-v2-code': 'gpt2',
  'roberta-bpe': 'gpt2',
  gigachat: 'gpt2',
  'a.x-4.0': 'gpt2',
  mellum: 'gpt2',
  'modern-bert': 'gpt2',
  exaone4: 'gpt2',
  olmo: 'gpt2',
  jais: 'gpt2',
  trillion: 'gpt2',
  'granite-docling': 'gpt2',
  stablelm2: 'qwen2',
  qwen2: 'qwen2',
  'deepseek-r1-qwen': 'qwen2',
  megrez: 'qwen2',
  hunyuan: 'qwen2',
  'solar-open': 'qwen2',
  'grok-2': 'qwen2',
  qwen35: 'qwen35',
  dbrx: 'dbrx',
  'smaug-bpe': 'dbrx',
  'poro-chat': 'bloom',
  bloom: 'bloom',
  'gpt3-finnish': 'bloom',
  'chatglm-bpe': 'chatglm4',
  glm4: 'chatglm4',
  viking: 'viking',
  tekken: 'tekken',
  'gpt-4o': 'gpt4o',
  llama4: 'gpt4o',
  'minimax-m2': 'gpt4o',
  'seed-coder': 'seed-coder',
  bailingmoe: 'bailingmoe',
  bailingmoe2: 'bailingmoe',
  'llada-moe': 'bailingmoe',
  chameleon: 'chameleon',
  ufakzeka: 'ufakzeka',
  minicpm5: 'minicpm5',
  gemma4: 'gemma4',
};

/** Every `tokenizer.ggml.pre` value this package understands. */
export const SUPPORTED_PRE_TOKENIZERS: readonly string[] = Object.keys(NAMES);

/** The pre-tokenizer for a `tokenizer.ggml.pre` value (missing → llama.cpp's `default`). */
export function preTokenizerSpec(name: string | undefined): PreTokenizerSpec {
  const family = NAMES[name ?? 'default'];
  const spec = family === undefined ? undefined : FAMILIES[family];
  if (spec === undefined) {
    throw new StrataError(
      'UNKNOWN_TOKENIZER',
      `unknown pre-tokenizer tokenizer.ggml.pre='${name}'; supported: ${SUPPORTED_PRE_TOKENIZERS.join(', ')}`,
      { details: { pre: name } },
    );
  }
  return spec;
}

/** Compiles pre-tokenizer expressions (Oniguruma-style sources as above) into JavaScript regular expressions. */
export function compileExpressions(expressions: readonly string[]): RegExp[] {
  return expressions.map((source) => new RegExp(toJavaScript(source), 'gu'));
}

/** Splits `text` with each expression in turn, keeping matches and the text between them as separate pieces. */
export function splitWithExpressions(text: string, expressions: readonly RegExp[]): string[] {
  let pieces = [text];
  for (const expression of expressions) {
    const next: string[] = [];
    for (const piece of pieces) {
      let start = 0;
      expression.lastIndex = 0;
      for (let match = expression.exec(piece); match !== null; match = expression.exec(piece)) {
        const found = match[0];
        if (found.length === 0) {
          expression.lastIndex +=
            piece.codePointAt(expression.lastIndex) !== undefined && piece.codePointAt(expression.lastIndex)! > 0xffff
              ? 2
              : 1;
          continue;
        }
        if (match.index > start) next.push(piece.slice(start, match.index));
        next.push(found);
        start = match.index + found.length;
      }
      if (start < piece.length) next.push(piece.slice(start));
    }
    pieces = next;
  }
  return pieces;
}
