/**
 * Embeddings per second of BERT encoders with released models' shapes (random weights): bge-small (hidden 384,
 * 12 layers, 12 heads) and bge-base (768, 12, 12), at a batch of 32 texts × 128 tokens, through EmbeddingPipeline
 * (padded batch, mean pooling, L2 normalization). Prints one JSON report.
 *
 *   pnpm exec tsx packages/pipeline/bench/embedding-bench.ts --models bge-small,bge-base --batch 32 --tokens 128 \
 *     -r 5 --type F16 --backend webgpu --dir /tmp/strata-bench
 */
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Backend } from '@strata/core';
import { createCpuBackend, floatToHalf } from '@strata/kernels-cpu';
import { createWebGpuBackend } from '@strata/kernels-webgpu';
import { type GgufTypedValue, type GgufWriteTensor, ggufValue, writeGgufTo } from '@strata/loaders';
import { openModelFiles } from '@strata/loaders/node';
import { EmbeddingPipeline } from '@strata/pipeline';

interface EncoderShape {
  readonly hidden: number;
  readonly layers: number;
  readonly heads: number;
  readonly feedForward: number;
}

const SHAPES: Readonly<Record<string, EncoderShape>> = {
  'bge-small': { hidden: 384, layers: 12, heads: 12, feedForward: 1536 },
  'bge-base': { hidden: 768, layers: 12, heads: 12, feedForward: 3072 },
  tiny: { hidden: 64, layers: 2, heads: 4, feedForward: 128 },
};
const VOCABULARY = 30522;
const POSITIONS = 512;

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: 'bge-small,bge-base' },
    batch: { type: 'string', default: '32' },
    tokens: { type: 'string', default: '128' },
    repetitions: { type: 'string', short: 'r', default: '5' },
    type: { type: 'string', default: 'F16' },
    backend: { type: 'string', default: 'webgpu' },
    dir: { type: 'string', default: '/tmp/strata-bench' },
  },
});
const batch = Number(values.batch);
const tokens = Number(values.tokens);
const repetitions = Number(values.repetitions);
const weightType = values.type === 'F32' ? 'F32' : 'F16';

/** Deterministic values in [−scale, scale) (xorshift32). */
function randomValues(count: number, seed: number, scale: number): Float32Array {
  const values = new Float32Array(count);
  let state = seed >>> 0 || 1;
  for (let index = 0; index < count; index++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    values[index] = ((state >>> 0) / 2 ** 32 - 0.5) * 2 * scale;
  }
  return values;
}

function encode(data: Float32Array, type: 'F32' | 'F16'): Uint8Array {
  if (type === 'F32') return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const half = new Uint16Array(data.length);
  for (let index = 0; index < data.length; index++) half[index] = floatToHalf(data[index] as number);
  return new Uint8Array(half.buffer);
}

/** The tensors of a BERT GGUF as llama.cpp's converter names them. */
function bertTensors(shape: EncoderShape): GgufWriteTensor[] {
  const { hidden, layers, feedForward } = shape;
  const tensors: GgufWriteTensor[] = [];
  const matrix = (name: string, rows: number, columns: number) => {
    const data = encode(randomValues(rows * columns, tensors.length + 1, 0.08), weightType);
    tensors.push({ name, type: weightType, shape: [rows, columns], data });
  };
  const vector = (name: string, length: number, base: number) => {
    const data = randomValues(length, tensors.length + 1, 0.05).map((value) => value + base);
    tensors.push({ name, type: 'F32', shape: [length], data: encode(data, 'F32') });
  };
  matrix('token_embd.weight', VOCABULARY, hidden);
  matrix('position_embd.weight', POSITIONS, hidden);
  matrix('token_types.weight', 2, hidden);
  vector('token_embd_norm.weight', hidden, 1);
  vector('token_embd_norm.bias', hidden, 0);
  for (let layer = 0; layer < layers; layer++) {
    for (const part of ['attn_q', 'attn_k', 'attn_v', 'attn_output']) {
      matrix(`blk.${layer}.${part}.weight`, hidden, hidden);
      vector(`blk.${layer}.${part}.bias`, hidden, 0);
    }
    vector(`blk.${layer}.attn_output_norm.weight`, hidden, 1);
    vector(`blk.${layer}.attn_output_norm.bias`, hidden, 0);
    matrix(`blk.${layer}.ffn_up.weight`, feedForward, hidden);
    vector(`blk.${layer}.ffn_up.bias`, feedForward, 0);
    matrix(`blk.${layer}.ffn_down.weight`, hidden, feedForward);
    vector(`blk.${layer}.ffn_down.bias`, hidden, 0);
    vector(`blk.${layer}.layer_output_norm.weight`, hidden, 1);
    vector(`blk.${layer}.layer_output_norm.bias`, hidden, 0);
  }
  return tensors;
}

function bertMetadata(name: string, shape: EncoderShape): Record<string, GgufTypedValue> {
  const pieces = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
  while (pieces.length < VOCABULARY) pieces.push(`▁w${pieces.length}`);
  return {
    'general.architecture': ggufValue.string('bert'),
    'general.name': ggufValue.string(`${name} (random weights)`),
    'bert.context_length': ggufValue.u32(POSITIONS),
    'bert.embedding_length': ggufValue.u32(shape.hidden),
    'bert.block_count': ggufValue.u32(shape.layers),
    'bert.feed_forward_length': ggufValue.u32(shape.feedForward),
    'bert.attention.head_count': ggufValue.u32(shape.heads),
    'bert.attention.layer_norm_epsilon': ggufValue.f32(1e-12),
    'bert.attention.causal': ggufValue.bool(false),
    'bert.pooling_type': ggufValue.u32(1),
    'tokenizer.ggml.model': ggufValue.string('bert'),
    'tokenizer.ggml.tokens': ggufValue.stringArray(pieces),
    'tokenizer.ggml.token_type': ggufValue.i32Array(pieces.map((_, index) => (index < 5 ? 3 : 1))),
    'tokenizer.ggml.padding_token_id': ggufValue.u32(0),
    'tokenizer.ggml.unknown_token_id': ggufValue.u32(1),
    'tokenizer.ggml.cls_token_id': ggufValue.u32(2),
    'tokenizer.ggml.seperator_token_id': ggufValue.u32(3),
    'tokenizer.ggml.mask_token_id': ggufValue.u32(4),
  };
}

async function writeModel(name: string, shape: EncoderShape, path: string): Promise<void> {
  const stream = createWriteStream(path);
  await writeGgufTo({ metadata: bertMetadata(name, shape), tensors: bertTensors(shape) }, async (chunk) => {
    if (!stream.write(chunk)) await once(stream, 'drain');
  });
  stream.end();
  await once(stream, 'finish');
}

async function createBackend(): Promise<{ backend: Backend; release: () => void }> {
  if (values.backend === 'cpu') return { backend: createCpuBackend(), release: () => {} };
  const backend = await createWebGpuBackend({ powerPreference: 'high-performance' });
  return { backend, release: () => backend.destroy() };
}

mkdirSync(values.dir, { recursive: true });
const { backend, release } = await createBackend();
const results = [];
for (const name of values.models.split(',')) {
  const shape = SHAPES[name];
  if (shape === undefined) throw new Error(`unknown model ${name}; choose from ${Object.keys(SHAPES).join(', ')}`);
  const path = join(values.dir, `${name}-${weightType}.gguf`);
  if (!existsSync(path)) await writeModel(name, shape, path);
  // Files opened here (not by path inside load) so that a bundler includes the Node file sources.
  const pipeline = await EmbeddingPipeline.load(await openModelFiles(path), { backend });
  const random = randomValues(batch * tokens, 7, 0.5);
  const sequences = Array.from({ length: batch }, (_, row) =>
    Array.from({ length: tokens }, (_, column) =>
      column === 0 ? 2 : column === tokens - 1 ? 3 : 5 + Math.floor((random[row * tokens + column]! + 0.5) * 30000),
    ),
  );
  await pipeline.embedIds(sequences, { batchSize: batch }); // warm-up: shader compilation, buffer pool
  const seconds: number[] = [];
  for (let repetition = 0; repetition < repetitions; repetition++) {
    const started = performance.now();
    await pipeline.embedIds(sequences, { batchSize: batch });
    seconds.push((performance.now() - started) / 1000);
  }
  pipeline.dispose();
  const mean = seconds.reduce((sum, value) => sum + value, 0) / seconds.length;
  results.push({
    model: name,
    ...shape,
    weights: weightType,
    batch,
    tokens,
    secondsPerBatch: seconds,
    embeddingsPerSecond: batch / mean,
    tokensPerSecond: (batch * tokens) / mean,
  });
}
release();
console.log(JSON.stringify({ backend: backend.name, results }, null, 2));
