/** Options of BERT's basic text cleaning before WordPiece. */
export interface WordPieceNormalization {
  /** Lower-case every character. */
  readonly lowercase: boolean;
  /** Decompose (NFD) and drop combining marks. */
  readonly stripAccents: boolean;
}

const WHITE_SPACE = /^\p{White_Space}$/u;
const OTHER = /^\p{C}$/u;
const PUNCTUATION = /^\p{P}$/u;
const SYMBOL = /^\p{S}$/u;
const NONSPACING_MARK = /^\p{Mn}$/u;

/** CJK ideographs that BERT isolates as one-character words (the ranges of Hugging Face's BertPreTokenizer). */
function isChineseCharacter(codePoint: number): boolean {
  return (
    (codePoint >= 0x4e00 && codePoint <= 0x9fff) ||
    (codePoint >= 0x3400 && codePoint <= 0x4dbf) ||
    (codePoint >= 0x20000 && codePoint <= 0x2a6df) ||
    (codePoint >= 0x2a700 && codePoint <= 0x2b73f) ||
    (codePoint >= 0x2b740 && codePoint <= 0x2b81f) ||
    (codePoint >= 0x2b920 && codePoint <= 0x2ceaf) ||
    (codePoint >= 0xf900 && codePoint <= 0xfaff) ||
    (codePoint >= 0x2f800 && codePoint <= 0x2fa1f)
  );
}

/**
 * BERT's basic tokenizer: drops control characters, optionally lower-cases and strips accents, splits on white space,
 * and isolates punctuation, ASCII symbols and CJK ideographs as words of their own.
 */
export function bertWords(text: string, normalization: WordPieceNormalization): string[] {
  const source = normalization.stripAccents ? text.normalize('NFD') : text;
  const words: string[] = [];
  let current = '';
  for (const character of source) {
    const codePoint = character.codePointAt(0) as number;
    if (WHITE_SPACE.test(character)) {
      if (current.length > 0) words.push(current);
      current = '';
      continue;
    }
    if (codePoint === 0 || codePoint === 0xfffd || OTHER.test(character)) continue;
    if (normalization.stripAccents && NONSPACING_MARK.test(character)) continue;
    const normalized = normalization.lowercase ? character.toLowerCase() : character;
    if (PUNCTUATION.test(character) || (codePoint < 0x7f && SYMBOL.test(character)) || isChineseCharacter(codePoint)) {
      if (current.length > 0) words.push(current);
      words.push(normalized);
      current = '';
    } else {
      current += normalized;
    }
  }
  if (current.length > 0) words.push(current);
  return words;
}

/**
 * WordPiece over a llama.cpp-converted BERT vocabulary, where word-initial pieces carry a `▁` prefix and
 * continuation pieces carry none: greedy longest match from the left; a word with an unmatched remainder becomes
 * the unknown token.
 */
export function encodeWordPiece(
  words: readonly string[],
  tokenIds: ReadonlyMap<string, number>,
  maximumTokenLength: number,
  unknownId: number | undefined,
  output: number[],
): void {
  for (const word of words) {
    const marked = `\u2581${word}`;
    const start = output.length;
    let matchedAll = true;
    for (let index = 0; index < marked.length; ) {
      let found = false;
      for (let end = Math.min(marked.length, index + maximumTokenLength); end > index; end--) {
        const id = tokenIds.get(marked.slice(index, end));
        if (id !== undefined) {
          output.push(id);
          index = end;
          found = true;
          break;
        }
      }
      if (!found) {
        matchedAll = false;
        break;
      }
    }
    if (!matchedAll) output.length = start;
    if (output.length === start && unknownId !== undefined) output.push(unknownId);
  }
}
