import { ggufValue } from '../gguf/gguf-value.js';
import { encodeGgufHeader, type GgufWriteSpec, writeGguf } from '../gguf/gguf-writer.js';

/** One binary input the GGUF and safetensors fuzzers start from. */
export interface FuzzSeed {
  /** A name for reports. */
  readonly name: string;
  /** The bytes. */
  readonly bytes: Uint8Array;
  /** How many leading bytes are header (mutations favour them). */
  readonly headerBytes: number;
  /** The format, for structure-aware mutations (safetensors JSON headers). */
  readonly format: 'gguf' | 'safetensors';
}

/** A small writer-made GGUF with every value type, nested arrays, a quantized tensor and a custom alignment. */
function ggufSeed(alignment: number): FuzzSeed {
  const spec: GgufWriteSpec = {
    alignment,
    metadata: [
      ['general.architecture', ggufValue.string('llama')],
      ['llama.block_count', ggufValue.u32(1)],
      ['t.i8', ggufValue.i8(-3)],
      ['t.u16', ggufValue.u16(9)],
      ['t.i16', ggufValue.i16(-9)],
      ['t.i32', ggufValue.i32(-1)],
      ['t.f32', ggufValue.f32(1e-5)],
      ['t.bool', ggufValue.bool(true)],
      ['t.u64', ggufValue.u64(2n ** 40n)],
      ['t.i64', ggufValue.i64(-5n)],
      ['t.f64', ggufValue.f64(0.1)],
      ['t.u8', ggufValue.u8(8)],
      ['tokenizer.ggml.tokens', ggufValue.stringArray(['<s>', '</s>', 'a', 'b', 'ab'])],
      ['tokenizer.ggml.scores', ggufValue.f32Array([0, 0, -1, -2, -3])],
      ['tokenizer.ggml.token_type', ggufValue.i32Array([3, 3, 1, 1, 1])],
      [
        't.nested',
        ggufValue.array({ elementType: 'array', values: [{ elementType: 'u64', values: BigUint64Array.from([1n]) }] }),
      ],
    ],
    tensors: [
      { name: 'token_embd.weight', type: 'F32', shape: [5, 4], data: new Uint8Array(80).fill(7) },
      { name: 'blk.0.attn_q.weight', type: 'Q4_0', shape: [2, 32], data: new Uint8Array(36).fill(3) },
      { name: 'output_norm.weight', type: 'F16', shape: [4], data: new Uint8Array(8).fill(1) },
    ],
  };
  return {
    name: `writer-gguf-align-${alignment}`,
    bytes: writeGguf(spec),
    headerBytes: encodeGgufHeader(spec).header.byteLength,
    format: 'gguf',
  };
}

/** A small safetensors file with several dtypes and metadata. */
function safetensorsSeed(): FuzzSeed {
  const header = JSON.stringify({
    __metadata__: { format: 'pt' },
    a: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] },
    b: { dtype: 'BF16', shape: [4], data_offsets: [16, 24] },
    c: { dtype: 'U8', shape: [3], data_offsets: [24, 27] },
  });
  const bytes = new Uint8Array(8 + header.length + 27);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
  bytes.set(new TextEncoder().encode(header), 8);
  return { name: 'writer-safetensors', bytes, headerBytes: 8 + header.length, format: 'safetensors' };
}

/** Seeds that need no files: writer-made GGUF (two alignments) and a small safetensors file. */
export function builtInSeeds(): FuzzSeed[] {
  return [ggufSeed(32), ggufSeed(64), safetensorsSeed()];
}
