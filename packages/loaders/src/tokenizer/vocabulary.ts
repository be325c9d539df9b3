import { StrataError } from '@strata/core';
/** Token attributes, as bit flags (llama.cpp's `llama_token_attr` meanings). */
export const TokenAttribute = {
  undefined: 0,
  unknown: 1 << 0,
  unused: 1 << 1,
  normal: 1 << 2,
  control: 1 << 3,
  userDefined: 1 << 4,
  byte: 1 << 5,
  normalized: 1 << 6,
  leftStrip: 1 << 7,
  rightStrip: 1 << 8,
  singleWord: 1 << 9,
} as const;

/** GGUF `tokenizer.ggml.token_type` values → attributes (0 undefined, 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte). */
export function attributeOfTokenType(type: number): number {
  switch (type) {
    case 1:
      return TokenAttribute.normal;
    case 2:
      return TokenAttribute.unknown;
    case 3:
      return TokenAttribute.control;
    case 4:
      return TokenAttribute.userDefined;
    case 5:
      return TokenAttribute.unused;
    case 6:
      return TokenAttribute.byte;
    default:
      return TokenAttribute.undefined;
  }
}

/** A piece of input after special-token partitioning: plain text, or one recognised token. */
export type Fragment = { readonly text: string } | { readonly token: number };

/** ASCII white space as C's `isspace` sees it (used for a special token's left/right strip). */
function isAsciiSpace(code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d);
}

/** A special token as {@link SpecialTokenSplitter} needs it. */
export interface SpecialToken {
  /** The token's id. */
  readonly id: number;
  /** The exact text that stands for the token in the input. */
  readonly text: string;
  /** {@link TokenAttribute} flags; `leftStrip`/`rightStrip` make it swallow neighbouring white space. */
  readonly attribute: number;
}

interface TrieNode {
  readonly children: Map<number, TrieNode>;
  /** Index in the splitter's list of the token that ends here, or -1. */
  terminal: number;
}

/**
 * Cuts text at every occurrence of a set of special tokens, longest token first (llama.cpp's order), so that the
 * tokenizer proper never sees them. A token with the left-strip (right-strip) attribute also swallows the ASCII white
 * space before (after) it. A trie finds which tokens occur in one pass, so vocabularies with thousands of special
 * tokens (Gemma's unused ones) cost little.
 */
export class SpecialTokenSplitter {
  private readonly specials: readonly SpecialToken[];
  private readonly root: TrieNode = { children: new Map(), terminal: -1 };

  /** @param specials the tokens, in matching priority (longest first). */
  constructor(specials: readonly SpecialToken[]) {
    this.specials = specials.filter((special) => special.text.length > 0);
    this.specials.forEach((special, index) => {
      let node = this.root;
      for (let position = 0; position < special.text.length; position++) {
        const code = special.text.charCodeAt(position);
        let child = node.children.get(code);
        if (child === undefined) {
          child = { children: new Map(), terminal: -1 };
          node.children.set(code, child);
        }
        node = child;
      }
      if (node.terminal === -1) node.terminal = index;
    });
  }

  /** The fragments of `text`: plain text and recognised tokens, in order. */
  split(text: string): Fragment[] {
    if (text.length === 0) return [];
    const present = this.present(text);
    if (present.length === 0) return [{ text }];
    return partitionSpecialTokens(text, present);
  }

  /** The tokens that occur in `text`, in priority order. */
  private present(text: string): SpecialToken[] {
    const found = new Set<number>();
    const root = this.root.children;
    if (root.size === 0) return [];
    for (let start = 0; start < text.length; start++) {
      let node = root.get(text.charCodeAt(start));
      for (let position = start + 1; node !== undefined; position++) {
        if (node.terminal !== -1) found.add(node.terminal);
        if (position >= text.length) break;
        node = node.children.get(text.charCodeAt(position));
      }
    }
    return [...found].sort((a, b) => a - b).map((index) => this.specials[index] as SpecialToken);
  }
}

/**
 * Cuts `text` at every occurrence of the given special tokens, longest token first, so that the tokenizer proper
 * never sees them. A token with the left-strip (right-strip) attribute also swallows the white space before (after) it.
 */
export function partitionSpecialTokens(text: string, specials: readonly SpecialToken[]): Fragment[] {
  let fragments: Fragment[] = text.length === 0 ? [] : [{ text }];
  for (const special of specials) {
    if (special.text.length === 0) continue;
    const next: Fragment[] = [];
    for (const fragment of fragments) {
      if (!('text' in fragment) || !fragment.text.includes(special.text)) {
        next.push(fragment);
        continue;
      }
      const source = fragment.text;
      let start = 0;
      for (let found = source.indexOf(special.text, start); found !== -1; found = source.indexOf(special.text, start)) {
        let leftEnd = found;
        if (special.attribute & TokenAttribute.leftStrip) {
          while (leftEnd > start && isAsciiSpace(source.charCodeAt(leftEnd - 1))) leftEnd--;
        }
        if (leftEnd > start) next.push({ text: source.slice(start, leftEnd) });
        next.push({ token: special.id });
        start = found + special.text.length;
        if (special.attribute & TokenAttribute.rightStrip) {
          while (start < source.length && isAsciiSpace(source.charCodeAt(start))) start++;
        }
      }
      if (start < source.length) next.push({ text: source.slice(start) });
    }
    fragments = next;
  }
  return fragments;
}

/**
 * Throws `TOKEN_OUT_OF_RANGE` unless `id` is an integer in `0 … vocabularySize − 1` (what decoding and id lookups
 * accept).
 */
export function checkTokenId(id: number, vocabularySize: number): void {
  if (!Number.isInteger(id) || id < 0 || id >= vocabularySize) {
    throw new StrataError('TOKEN_OUT_OF_RANGE', `token id ${id} is outside the vocabulary (0…${vocabularySize - 1})`, {
      details: { id, vocabularySize },
    });
  }
}
