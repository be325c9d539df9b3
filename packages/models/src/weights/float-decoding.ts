import { StrataError } from '@strata/core';

/** IEEE half → float. */
function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** Decodes F32, F16 or BF16 little-endian bytes to floats (small vectors: norms, biases, RoPE factors). */
export function decodeFloats(bytes: Uint8Array, type: string, name: string): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (type) {
    case 'F32': {
      const out = new Float32Array(bytes.byteLength / 4);
      for (let index = 0; index < out.length; index++) out[index] = view.getFloat32(index * 4, true);
      return out;
    }
    case 'F16': {
      const out = new Float32Array(bytes.byteLength / 2);
      for (let index = 0; index < out.length; index++) out[index] = halfToFloat(view.getUint16(index * 2, true));
      return out;
    }
    case 'BF16': {
      const out = new Float32Array(bytes.byteLength / 2);
      const word = new DataView(new ArrayBuffer(4));
      for (let index = 0; index < out.length; index++) {
        word.setUint32(0, view.getUint16(index * 2, true) << 16);
        out[index] = word.getFloat32(0);
      }
      return out;
    }
    default:
      throw new StrataError(
        'UNSUPPORTED_TENSOR_TYPE',
        `Tensor '${name}' is ${type}; only F32, F16 and BF16 vectors can be adjusted at load time.`,
        {
          details: { name, type },
        },
      );
  }
}

/** Float32 little-endian bytes of `values`. */
export function encodeFloats(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let index = 0; index < values.length; index++) view.setFloat32(index * 4, values[index] as number, true);
  return out;
}
