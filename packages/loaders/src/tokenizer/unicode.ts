/**
 * Byte-level helpers shared by the tokenizers: the GPT-2 byte↔character map and UTF-8 conversions.
 *
 * Byte-level BPE vocabularies store every byte as a printable character: the printable Latin-1 bytes map to
 * themselves, the other 68 bytes to U+0100 onwards, in byte order.
 */

const BYTE_TO_CHARACTER: readonly string[] = buildByteToCharacter();
const CHARACTER_TO_BYTE: ReadonlyMap<string, number> = new Map(
  BYTE_TO_CHARACTER.map((character, byte) => [character, byte]),
);

function buildByteToCharacter(): string[] {
  const table = new Array<string>(256);
  const isPrintable = (byte: number) =>
    (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
  let next = 0;
  for (let byte = 0; byte < 256; byte++) {
    table[byte] = String.fromCodePoint(isPrintable(byte) ? byte : 256 + next++);
  }
  return table;
}

/** The byte-level character that stands for `byte` in a GPT-2 style vocabulary. */
export function byteToCharacter(byte: number): string {
  return BYTE_TO_CHARACTER[byte] as string;
}

/** The byte a GPT-2 byte-level character stands for, or undefined when the character is not one of the 256. */
export function characterToByte(character: string): number | undefined {
  return CHARACTER_TO_BYTE.get(character);
}

const encoder = new TextEncoder();

/** UTF-8 bytes of a string (lone surrogates become U+FFFD). */
export function utf8Encode(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Maps a string to its byte-level form: every UTF-8 byte replaced by its GPT-2 character. */
export function toByteLevel(text: string): string {
  let ascii = true;
  for (let index = 0; index < text.length; index++) {
    if (text.charCodeAt(index) >= 0x80) {
      ascii = false;
      break;
    }
  }
  let result = '';
  if (ascii) {
    for (let index = 0; index < text.length; index++) result += BYTE_TO_CHARACTER[text.charCodeAt(index)];
    return result;
  }
  for (const byte of encoder.encode(text)) result += BYTE_TO_CHARACTER[byte];
  return result;
}

/**
 * Maps a byte-level string back to bytes. Characters outside the byte map are kept as their own UTF-8 bytes (a
 * vocabulary entry that is not byte-level text, such as an added token).
 */
export function fromByteLevel(text: string, output: number[]): void {
  for (const character of text) {
    const byte = CHARACTER_TO_BYTE.get(character);
    if (byte !== undefined) output.push(byte);
    else for (const raw of encoder.encode(character)) output.push(raw);
  }
}

/** The number of bytes of the UTF-8 sequence that starts with `byte` (1 for a stray continuation byte). */
export function utf8SequenceLength(byte: number): number {
  if (byte < 0xc0) return 1;
  if (byte < 0xe0) return 2;
  if (byte < 0xf0) return 3;
  return 4;
}

/** Appends the UTF-8 bytes of `text` to `output`. */
export function pushUtf8(text: string, output: number[]): void {
  for (const byte of encoder.encode(text)) output.push(byte);
}
