/** Test helper: the token ids whose bits are set in a mask (word by word, skipping empty words). */
export function allowedIds(mask: Uint32Array): number[] {
  const ids: number[] = [];
  for (let word = 0; word < mask.length; word++) {
    let bits = mask[word]!;
    while (bits !== 0) {
      const bit = 31 - Math.clz32(bits);
      bits &= ~(1 << bit);
      ids.push(word * 32 + bit);
    }
  }
  return ids.sort((a, b) => a - b);
}
