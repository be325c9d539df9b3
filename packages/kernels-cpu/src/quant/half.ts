/** Every f16 bit pattern decoded to its f32 value, built on first use (256 KiB). */
let halfTable: Float32Array | undefined;

function buildHalfTable(): Float32Array {
  const table = new Float32Array(65536);
  for (let bits = 0; bits < 65536; bits++) {
    const sign = bits & 0x8000 ? -1 : 1;
    const exponent = (bits >> 10) & 0x1f;
    const mantissa = bits & 0x3ff;
    let value: number;
    if (exponent === 0) value = mantissa * 2 ** -24;
    else if (exponent === 31) value = mantissa === 0 ? Number.POSITIVE_INFINITY : Number.NaN;
    else value = (1 + mantissa / 1024) * 2 ** (exponent - 15);
    table[bits] = sign * value;
  }
  return table;
}

/** The decode table of f16: `table[bits]` is the value of the half-precision bit pattern `bits`. */
export function halfTable16(): Float32Array {
  halfTable ??= buildHalfTable();
  return halfTable;
}

/** Decodes one IEEE 754 half-precision bit pattern. */
export function halfToFloat(bits: number): number {
  return halfTable16()[bits & 0xffff]!;
}

const conversionFloat = new Float32Array(1);
const conversionBits = new Uint32Array(conversionFloat.buffer);

/** Encodes a number as the nearest f16 bit pattern (round to nearest even; overflow to infinity). */
export function floatToHalf(value: number): number {
  conversionFloat[0] = value;
  const bits = conversionBits[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa === 0 ? 0 : 0x200);
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 31) return sign | 0x7c00;
  if (halfExponent <= 0) {
    if (halfExponent < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - halfExponent;
    const halfway = 1 << (shift - 1);
    const remainder = mantissa & ((1 << shift) - 1);
    let result = mantissa >>> shift;
    if (remainder > halfway || (remainder === halfway && (result & 1) === 1)) result += 1;
    return sign | result;
  }
  const remainder = mantissa & 0x1fff;
  let result = (halfExponent << 10) | (mantissa >>> 13);
  if (remainder > 0x1000 || (remainder === 0x1000 && (result & 1) === 1)) result += 1;
  return sign | result;
}

/**
 * Encodes `count` values of `source` from `sourceOffset` as f16 bit patterns ({@link floatToHalf}: nearest even) into
 * `target` from `targetOffset`: the write of an f16 KV cache.
 */
export function floatsToHalvesInto(
  source: Float32Array,
  sourceOffset: number,
  count: number,
  target: Uint16Array,
  targetOffset: number,
): void {
  for (let index = 0; index < count; index++) target[targetOffset + index] = floatToHalf(source[sourceOffset + index]!);
}

/** The f32 values of `count` f16 bit patterns of `halves` from `offset` (a read of f16 KV cache rows). */
export function halvesToFloats(halves: Uint16Array, offset: number, count: number): Float32Array {
  const table = halfTable16();
  const output = new Float32Array(count);
  for (let index = 0; index < count; index++) output[index] = table[halves[offset + index]!]!;
  return output;
}

/** Decodes one bfloat16 bit pattern (the upper half of an f32). */
export function bfloat16ToFloat(bits: number): number {
  conversionBits[0] = (bits & 0xffff) << 16;
  return conversionFloat[0]!;
}

/** Encodes a number as the nearest bfloat16 bit pattern (round to nearest even; NaN stays NaN). */
export function floatToBfloat16(value: number): number {
  conversionFloat[0] = value;
  const bits = conversionBits[0]!;
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) | 0x40) & 0xffff;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}
