// Prints throughput figures of the CPU reference backend: dequantization, matmul (prefill and mat-vec) per weight
// type, attention decode, sampling over a large vocabulary. Run: pnpm --filter @strata/kernels-cpu bench
import { type SamplingParameters, WEIGHT_TYPES, ggmlTypeFromName } from '@strata/core';
import { createCpuBackend, dequantize, floatToHalf } from '../src/index.js';

function time(repeats: number, run: () => void): number {
  run();
  const start = performance.now();
  for (let index = 0; index < repeats; index++) run();
  return (performance.now() - start) / repeats;
}

/** Valid bytes of `count` elements of a type: patterned quants, f16 fields (block starts) set to small scales. */
function bytesOf(type: (typeof WEIGHT_TYPES)[number], count: number): Uint8Array {
  const { blockSize, bytesPerBlock } = ggmlTypeFromName(type);
  const bytes = new Uint8Array((count / blockSize) * bytesPerBlock);
  for (let index = 0; index < bytes.length; index++) bytes[index] = (index * 37 + 11) & 0x3f;
  if (blockSize > 1) {
    const half = floatToHalf(0.001);
    for (let block = 0; block < bytes.length; block += bytesPerBlock) {
      bytes[block] = half & 0xff;
      bytes[block + 1] = half >> 8;
    }
  }
  return bytes;
}

const backend = createCpuBackend();
const [rows, columns, out] = [24, 1024, 1024];
console.log(
  `matmul [${rows}, ${columns}] × [${out}, ${columns}]ᵀ and mat-vec [1, ${columns}]; dequantize ${columns * out} elements`,
);
for (const type of WEIGHT_TYPES) {
  const bytes = bytesOf(type, out * columns);
  const weight = await backend.uploadWeight({ name: type, type, shape: [out, columns] }, bytes);
  const input = backend.upload(new Float32Array(rows * columns).fill(0.5), [rows, columns]);
  const vector = backend.upload(new Float32Array(columns).fill(0.5), [1, columns]);
  const prefill = time(3, () => backend.matmul(input, weight));
  const matVec = time(10, () => backend.matmul(vector, weight));
  const decode = time(5, () => dequantize(type, bytes, out * columns));
  console.log(
    `${type.padEnd(7)} prefill ${prefill.toFixed(1).padStart(6)} ms (${((2 * rows * columns * out) / prefill / 1e6).toFixed(2)} GFLOP/s)` +
      `  mat-vec ${matVec.toFixed(2).padStart(6)} ms  dequantize ${((out * columns) / decode / 1e3).toFixed(0).padStart(5)} M elements/s`,
  );
}

const [heads, keyValueHeads, headDimensions, context] = [32, 8, 128, 512];
const width = keyValueHeads * headDimensions;
const cache = { keys: backend.zeros([context, width]), values: backend.zeros([context, width]) };
const keys = backend.upload(new Float32Array(context * width).fill(0.01), [context, width]);
backend.writeKeyValues(cache, keys, keys, 0);
const query = backend.upload(new Float32Array(heads * headDimensions).fill(0.1), [1, heads * headDimensions]);
const options = {
  heads,
  keyValueHeads,
  headDimensions,
  firstPosition: context - 1,
  scale: 1 / Math.sqrt(headDimensions),
};
console.log(
  `attention decode, ${heads}/${keyValueHeads} heads of ${headDimensions}, ${context} keys: ${time(5, () => backend.attention(query, cache, options)).toFixed(2)} ms`,
);

const vocabulary = 151_936;
const logits = backend.upload(
  Float32Array.from({ length: vocabulary }, (_, index) => Math.sin(index) * 5),
  [1, vocabulary],
);
const sampling: SamplingParameters = {
  temperature: 0.8,
  topK: 40,
  topP: 0.95,
  minP: 0.05,
  random: 0.3,
  penaltyTokens: Int32Array.of(1, 2, 3),
  penaltyCounts: Int32Array.of(1, 1, 2),
  repetitionPenalty: 1.1,
  presencePenalty: 0,
  frequencyPenalty: 0,
  logitBiasTokens: new Int32Array(0),
  logitBiasValues: new Float32Array(0),
};
console.log(
  `sampleToken, ${vocabulary} tokens, top-k 40: ${time(5, () => backend.sampleToken(logits, sampling)).toFixed(2)} ms`,
);
console.log(
  `sampleToken, ${vocabulary} tokens, top-k off: ${time(3, () => backend.sampleToken(logits, { ...sampling, topK: 0 })).toFixed(2)} ms`,
);
