/**
 * GGUF files with the dimensions of released models and random (but valid) weights, for benchmarks:
 * Llama-3.2-1B or Llama-3-8B shapes in F16, Q8_0 or a Q4_K_M-like mix (Q4_K, with Q6_K for the output/tied embedding and
 * for attn_v / ffn_down of the layers llama.cpp gives more bits). Streams through the loaders' GGUF writer, so a
 * 16 GB file never sits in memory. A minimal SentencePiece-style tokenizer (byte tokens + filler words) is embedded
 * so that `strata run`/`strata bench` load it. The command line is write-random-gguf.ts.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { ggmlByteLength, type GgmlTypeName, ggmlTypeFromName } from '@strata/core';
import { floatToHalf } from '@strata/kernels-cpu';
import { type GgufTypedValue, type GgufWriteTensor, ggufValue, writeGgufTo } from '@strata/loaders';

/** Dimensions of a llama-architecture model. */
export interface LlamaDimensions {
  readonly name: string;
  readonly hidden: number;
  readonly layers: number;
  readonly heads: number;
  readonly keyValueHeads: number;
  readonly feedForward: number;
  readonly vocabulary: number;
  readonly tied: boolean;
  readonly ropeBase: number;
  readonly contextLength: number;
}

export const MODELS: Readonly<Record<string, LlamaDimensions>> = {
  'llama-3.2-1b': {
    name: 'Llama-3.2-1B (random weights)',
    hidden: 2048,
    layers: 16,
    heads: 32,
    keyValueHeads: 8,
    feedForward: 8192,
    vocabulary: 128256,
    tied: true,
    ropeBase: 500000,
    contextLength: 131072,
  },
  'llama-3-8b': {
    name: 'Llama-3-8B (random weights)',
    hidden: 4096,
    layers: 32,
    heads: 32,
    keyValueHeads: 8,
    feedForward: 14336,
    vocabulary: 128256,
    tied: false,
    ropeBase: 500000,
    contextLength: 8192,
  },
  tiny: {
    name: 'tiny llama (random weights)',
    hidden: 256,
    layers: 2,
    heads: 4,
    keyValueHeads: 2,
    feedForward: 512,
    vocabulary: 512,
    tied: true,
    ropeBase: 10000,
    contextLength: 2048,
  },
};

/** Weight layouts the script writes. */
export type FileType = 'F16' | 'Q8_0' | 'Q4_K_M';

const POOL_BYTES = 8 << 20;
const STREAM_BYTES = 4 << 20;

/** Deterministic fast random bytes (xorshift32). */
function randomBytes(length: number, seed: number): Uint8Array {
  const words = new Uint32Array(Math.ceil(length / 4));
  let state = seed >>> 0 || 1;
  for (let index = 0; index < words.length; index++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    words[index] = state >>> 0;
  }
  return new Uint8Array(words.buffer, 0, length);
}

function setHalf(view: DataView, offset: number, value: number): void {
  view.setUint16(offset, floatToHalf(value), true);
}

/**
 * A pool of valid random blocks of `type`: random quants, and scales small and finite so activations stay bounded.
 * Block layouts (ggml): Q8_0 = f16 d + 32 i8; Q4_K = f16 d, f16 dmin, 12 B scales, 128 B nibbles; Q6_K = 128 B ql,
 * 64 B qh, 16 i8 scales, f16 d; F16 = halves.
 */
function blockPool(type: GgmlTypeName, scale: number, seed: number): Uint8Array {
  const blockBytes = ggmlTypeFromName(type).bytesPerBlock;
  const blocks = Math.floor(POOL_BYTES / blockBytes);
  const pool = randomBytes(blocks * blockBytes, seed);
  const view = new DataView(pool.buffer, pool.byteOffset, pool.byteLength);
  const unit = (index: number) => ((pool[index]! + 1) / 256) * scale;
  for (let block = 0; block < blocks; block++) {
    const at = block * blockBytes;
    if (type === 'F16') setHalf(view, at, unit(at) * 2 - scale);
    else if (type === 'Q8_0') setHalf(view, at, unit(at) / 127);
    else if (type === 'Q4_K') {
      setHalf(view, at, unit(at) / 63 / 15);
      setHalf(view, at + 2, unit(at + 2) / 63 / 15);
    } else if (type === 'Q6_K') setHalf(view, at + 208, unit(at + 208) / 127 / 32);
  }
  return pool;
}

const pools = new Map<string, Uint8Array>();
function poolFor(type: GgmlTypeName): Uint8Array {
  let pool = pools.get(type);
  if (pool === undefined) {
    pool = blockPool(type, 0.05, 0x9e3779b9 ^ type.length);
    pools.set(type, pool);
  }
  return pool;
}

/** Streams `byteLength` bytes of random valid blocks, cycling through the type's pool from a per-tensor offset. */
function randomTensorData(type: GgmlTypeName, byteLength: number, salt: number): () => AsyncIterable<Uint8Array> {
  return async function* chunks() {
    const pool = poolFor(type);
    const blockBytes = ggmlTypeFromName(type).bytesPerBlock;
    let offset = ((salt * 7919) % Math.floor(pool.byteLength / blockBytes)) * blockBytes;
    let left = byteLength;
    while (left > 0) {
      const available = Math.min(left, STREAM_BYTES, pool.byteLength - offset);
      const whole = available - (available % blockBytes) || available;
      yield pool.subarray(offset, offset + whole);
      left -= whole;
      offset = (offset + whole) % (pool.byteLength - (pool.byteLength % blockBytes));
    }
  };
}

function ones(length: number): Uint8Array {
  return new Uint8Array(Float32Array.from({ length }, () => 1).buffer);
}

/** Q4_K_M's choice (llama.cpp's "use more bits" layers) for attn_v and ffn_down. */
function moreBits(layer: number, layers: number): boolean {
  return layer < layers / 8 || layer >= (7 * layers) / 8 || (layer - layers / 8) % 3 === 2;
}

/** The tensors of a llama-architecture model of `dimensions` in `fileType`. */
export function llamaTensors(dimensions: LlamaDimensions, fileType: FileType): GgufWriteTensor[] {
  const { hidden, layers, heads, keyValueHeads, feedForward, vocabulary } = dimensions;
  const headDimensions = hidden / heads;
  const base: GgmlTypeName = fileType === 'Q4_K_M' ? 'Q4_K' : fileType;
  const strong: GgmlTypeName = fileType === 'Q4_K_M' ? 'Q6_K' : fileType;
  const tensors: GgufWriteTensor[] = [];
  const matrix = (name: string, type: GgmlTypeName, rows: number, columns: number) => {
    const byteLength = ggmlByteLength(ggmlTypeFromName(type), rows * columns);
    tensors.push({ name, type, shape: [rows, columns], data: randomTensorData(type, byteLength, tensors.length) });
  };
  const vector = (name: string) => tensors.push({ name, type: 'F32', shape: [hidden], data: ones(hidden) });
  matrix('token_embd.weight', dimensions.tied ? strong : base, vocabulary, hidden);
  for (let layer = 0; layer < layers; layer++) {
    const more = moreBits(layer, layers);
    vector(`blk.${layer}.attn_norm.weight`);
    matrix(`blk.${layer}.attn_q.weight`, base, hidden, hidden);
    matrix(`blk.${layer}.attn_k.weight`, base, keyValueHeads * headDimensions, hidden);
    matrix(`blk.${layer}.attn_v.weight`, more ? strong : base, keyValueHeads * headDimensions, hidden);
    matrix(`blk.${layer}.attn_output.weight`, base, hidden, hidden);
    vector(`blk.${layer}.ffn_norm.weight`);
    matrix(`blk.${layer}.ffn_gate.weight`, base, feedForward, hidden);
    matrix(`blk.${layer}.ffn_up.weight`, base, feedForward, hidden);
    matrix(`blk.${layer}.ffn_down.weight`, more ? strong : base, hidden, feedForward);
  }
  vector('output_norm.weight');
  if (!dimensions.tied) matrix('output.weight', strong, vocabulary, hidden);
  return tensors;
}

/** Metadata: llama hyper-parameters and a minimal SentencePiece vocabulary (unk, bos, eos, 256 bytes, '▁', words). */
export function llamaMetadata(dimensions: LlamaDimensions, fileType: FileType): Record<string, GgufTypedValue> {
  const { vocabulary } = dimensions;
  const tokens: string[] = ['<unk>', '<s>', '</s>'];
  const types: number[] = [2, 3, 3];
  for (let byte = 0; byte < 256; byte++) {
    tokens.push(`<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(6);
  }
  tokens.push('▁');
  types.push(1);
  // Ordinary words (not control tokens), so that generated ids decode to text a load generator can see and compare.
  while (tokens.length < vocabulary) {
    tokens.push(`▁w${tokens.length}`);
    types.push(1);
  }
  return {
    'general.architecture': ggufValue.string('llama'),
    'general.name': ggufValue.string(`${dimensions.name} ${fileType}`),
    'general.file_type': ggufValue.u32(fileType === 'F16' ? 1 : fileType === 'Q8_0' ? 7 : 15),
    'llama.context_length': ggufValue.u32(dimensions.contextLength),
    'llama.embedding_length': ggufValue.u32(dimensions.hidden),
    'llama.block_count': ggufValue.u32(dimensions.layers),
    'llama.feed_forward_length': ggufValue.u32(dimensions.feedForward),
    'llama.attention.head_count': ggufValue.u32(dimensions.heads),
    'llama.attention.head_count_kv': ggufValue.u32(dimensions.keyValueHeads),
    'llama.rope.freq_base': ggufValue.f32(dimensions.ropeBase),
    'llama.rope.dimension_count': ggufValue.u32(dimensions.hidden / dimensions.heads),
    'llama.attention.layer_norm_rms_epsilon': ggufValue.f32(1e-5),
    'llama.vocab_size': ggufValue.u32(vocabulary),
    'tokenizer.ggml.model': ggufValue.string('llama'),
    'tokenizer.ggml.tokens': ggufValue.stringArray(tokens),
    'tokenizer.ggml.scores': ggufValue.f32Array(new Float32Array(vocabulary)),
    'tokenizer.ggml.token_type': ggufValue.i32Array(types),
    'tokenizer.ggml.unknown_token_id': ggufValue.u32(0),
    'tokenizer.ggml.bos_token_id': ggufValue.u32(1),
    'tokenizer.ggml.eos_token_id': ggufValue.u32(2),
    'tokenizer.ggml.add_bos_token': ggufValue.bool(true),
  };
}

/** Writes a random-weight llama GGUF of `dimensions` in `fileType` to `path`, reporting progress on stderr. */
export async function writeRandomGguf(dimensions: LlamaDimensions, fileType: FileType, path: string): Promise<number> {
  const stream = createWriteStream(path);
  const started = performance.now();
  let written = 0;
  let reported = 0;
  const total = await writeGgufTo(
    { metadata: llamaMetadata(dimensions, fileType), tensors: llamaTensors(dimensions, fileType) },
    async (chunk) => {
      if (!stream.write(chunk)) await once(stream, 'drain');
      written += chunk.byteLength;
      if (written - reported > 256 << 20) {
        reported = written;
        process.stderr.write(`\r${(written / 2 ** 30).toFixed(2)} GiB`);
      }
    },
  );
  stream.end();
  await once(stream, 'finish');
  const seconds = (performance.now() - started) / 1000;
  process.stderr.write(`\rwrote ${path}: ${(total / 2 ** 30).toFixed(2)} GiB in ${seconds.toFixed(1)} s\n`);
  return total;
}
