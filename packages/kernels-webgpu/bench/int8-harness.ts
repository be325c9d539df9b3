// The int8 prefill section's harness on the benchmark's raw device: the quantizer and the int8 GEMM built straight from
// their WGSL, checked against the CPU computation of the int8 contract and timed as one quantize + GEMM pair.
import { SUBGROUP_MATRIX_FEATURE } from '../src/device/acquire-device.js';
import { withDawnFeatures } from '../src/device/dawn-flags.js';
import { type Int8SubgroupMatrix, pickInt8SubgroupMatrix } from '../src/device/subgroup-matrix.js';
import { quantizeActivations } from '../src/kernels/matmul/int8/activation-quantization.js';
import {
  QUANTIZE_WORKGROUP_SIZE,
  quantizeActivationsKey,
  quantizeActivationsUniforms,
  quantizeActivationsWgsl,
} from '../src/kernels/matmul/int8/activation-quantization-shader.js';
import { int8GemmReference, int8WeightBlocks } from '../src/kernels/matmul/int8/int8-gemm-reference.js';
import {
  type Int8GemmVariant,
  int8GemmKey,
  int8GemmTile,
  int8GemmUniforms,
  int8GemmWgsl,
  int8GemmWorkgroupBytes,
} from '../src/kernels/matmul/int8/int8-gemm-shader.js';
import type { Int8WeightType } from '../src/kernels/matmul/int8/int8-weight-blocks.js';
import { rowByteLength } from '../src/wgsl/dequantize/index.js';
import { readBuffer, storageBuffer, uniformBuffer, workgroupGrid } from '../src/wgsl/dequantize/raw-device.js';
import { type Timing, timeDispatches } from './gpu-timer.js';
import type { Bench } from './matvec-harness.js';

const QUANTIZE_BINDINGS: readonly GPUBufferBindingType[] = [
  'uniform',
  'read-only-storage',
  'storage',
  'storage',
  'storage',
];
const GEMM_BINDINGS: readonly GPUBufferBindingType[] = [
  'uniform',
  'read-only-storage',
  'read-only-storage',
  'read-only-storage',
  'read-only-storage',
  'read-only-storage',
  'storage',
];
/** Dawn flags with `allow_unsafe_apis` added (merged into one `enable-dawn-features=`): Dawn then lists subgroup matrices. */
export function withUnsafeApis(flags: readonly string[]): string[] {
  return withDawnFeatures(flags, 'allow_unsafe_apis');
}

/** The features the int8 section asks the raw device for, beyond the usual ones. */
export const INT8_DEVICE_FEATURES: readonly string[] = [SUBGROUP_MATRIX_FEATURE];

/** The device's i8 subgroup-matrix configuration, when it has the feature and one the kernel can use. */
export function deviceMatrix(bench: Bench): Int8SubgroupMatrix | undefined {
  const { raw } = bench;
  if (!raw.features.has(SUBGROUP_MATRIX_FEATURE) || !raw.features.has('subgroups')) return undefined;
  return pickInt8SubgroupMatrix(raw.subgroupMatrixConfigs, raw.subgroupSizes?.min, raw.subgroupSizes?.max);
}

/** Whether the device's limits take `variant` (workgroup memory, invocations). */
export function variantFits(bench: Bench, variant: Int8GemmVariant): boolean {
  const { inner } = variant;
  const invocations =
    inner.kind === 'packed' ? 256 : inner.tiling.subgroupRows * inner.tiling.subgroupCols * inner.matrix.subgroupSize;
  const limits = bench.device.limits;
  return (
    int8GemmWorkgroupBytes(variant) <= limits.maxComputeWorkgroupStorageSize &&
    invocations <= limits.maxComputeInvocationsPerWorkgroup
  );
}

/** Random valid weight bytes: f16 scales in a sane range, every other byte random. */
export function randomWeightBytes(type: Int8WeightType, out: number, columns: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(rowByteLength(type, columns) * out);
  let state = seed >>> 0;
  for (let index = 0; index < bytes.length; index++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    bytes[index] = state >>> 24;
  }
  // f16 fields: high byte 0x1c…0x1f (2⁻⁸ … 2⁻⁷ range), so scales are small and finite.
  const [blockBytes, fields] = type === 'Q8_0' ? [34, [1]] : [144, [1, 3]];
  for (let block = 0; block < bytes.length / blockBytes; block++) {
    for (const field of fields) bytes[block * blockBytes + field] = 0x1c | (bytes[block * blockBytes + field]! & 3);
  }
  return bytes;
}

/** The buffers of one product: weights, input, quantized activations, bias, output and both uniform buffers. */
interface ProductBuffers {
  readonly weights: GPUBuffer;
  readonly input: GPUBuffer;
  readonly quants: GPUBuffer;
  readonly scales: GPUBuffer;
  readonly sums: GPUBuffer;
  readonly bias: GPUBuffer;
  readonly output: GPUBuffer;
  readonly quantizeParams: GPUBuffer;
  readonly gemmParams: GPUBuffer;
}

/** Records one quantize + GEMM pair of `variant` on `rows` rows of a `[out, columns]` weight into a compute pass. */
async function recorder(
  bench: Bench,
  variant: Int8GemmVariant,
  buffers: ProductBuffers,
  shape: { rows: number; out: number; columns: number },
): Promise<(pass: GPUComputePassEncoder) => void> {
  const sums = variant.type === 'Q4_K';
  const quantize = await bench.pipeline(
    quantizeActivationsKey(sums),
    () => quantizeActivationsWgsl(sums),
    QUANTIZE_BINDINGS,
  );
  const gemm = await bench.pipeline(int8GemmKey(variant), () => int8GemmWgsl(variant), GEMM_BINDINGS);
  const group = (pipeline: GPUComputePipeline, list: GPUBuffer[]) =>
    bench.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: list.map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
  const { weights, input, quants, scales, bias, output, quantizeParams, gemmParams } = buffers;
  const quantizeGroup = group(quantize, [quantizeParams, input, quants, scales, buffers.sums]);
  const gemmGroup = group(gemm, [gemmParams, weights, quants, scales, buffers.sums, bias, output]);
  const tile = int8GemmTile(variant);
  const quantizeGroups = workgroupGrid(Math.ceil((shape.rows * shape.columns) / 32 / QUANTIZE_WORKGROUP_SIZE));
  return (pass) => {
    pass.setPipeline(quantize);
    pass.setBindGroup(0, quantizeGroup);
    pass.dispatchWorkgroups(...quantizeGroups);
    pass.setPipeline(gemm);
    pass.setBindGroup(0, gemmGroup);
    pass.dispatchWorkgroups(Math.ceil(shape.out / tile.out), Math.ceil(shape.rows / tile.rows));
  };
}

function productBuffers(
  bench: Bench,
  weights: GPUBuffer,
  input: GPUBuffer,
  type: Int8WeightType,
  shape: { rows: number; out: number; columns: number },
): ProductBuffers {
  const { rows, out, columns } = shape;
  const device = bench.device;
  return {
    weights,
    input,
    quants: storageBuffer(device, rows * columns),
    scales: storageBuffer(device, (rows * columns) / 8),
    sums: storageBuffer(device, (rows * columns) / 8),
    bias: storageBuffer(device, 16),
    output: storageBuffer(device, rows * out * 4),
    quantizeParams: uniformBuffer(device, quantizeActivationsUniforms(rows, columns).buffer as ArrayBuffer),
    gemmParams: uniformBuffer(
      device,
      int8GemmUniforms(columns, rowByteLength(type, columns), rows, out, 0, out).buffer as ArrayBuffer,
    ),
  };
}

function destroy(buffers: ProductBuffers): void {
  for (const buffer of Object.values(buffers) as GPUBuffer[]) buffer.destroy();
}

/**
 * Runs `variant` once on host-made data (random valid weights, inputs in ±4) and returns the worst error against the
 * CPU computation of the int8 contract, relative to its tolerance `1e-5 · Σ|terms| + 1e-6` (≤ 1 passes).
 */
export async function checkInt8(
  bench: Bench,
  variant: Int8GemmVariant,
  shape: { rows: number; out: number; columns: number },
): Promise<number> {
  const { rows, out, columns } = shape;
  const bytes = randomWeightBytes(variant.type, out, columns, 7);
  const values = Float32Array.from({ length: rows * columns }, (_, index) => 4 * Math.sin(index * 0.7 + 0.3));
  const buffers = productBuffers(
    bench,
    storageBuffer(bench.device, bytes),
    storageBuffer(bench.device, values),
    variant.type,
    shape,
  );
  const record = await recorder(bench, variant, buffers, shape);
  const encoder = bench.device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  record(pass);
  pass.end();
  bench.device.queue.submit([encoder.finish()]);
  const actual = new Float32Array(await readBuffer(bench.device, buffers.output, rows * out * 4));
  destroy(buffers);
  const expected = int8GemmReference(
    quantizeActivations(values, rows, columns),
    int8WeightBlocks(variant.type, bytes, out, columns),
  );
  let worst = 0;
  for (let index = 0; index < actual.length; index++) {
    const error = Math.abs(actual[index]! - expected.result[index]!) / (1e-5 * expected.magnitude[index]! + 1e-6);
    worst = Math.max(worst, Number.isNaN(error) ? Number.POSITIVE_INFINITY : error);
  }
  return worst;
}

/** Times `count` quantize + GEMM pairs of `variant` on GPU-filled weights and inputs. */
export async function timeInt8(
  bench: Bench,
  variant: Int8GemmVariant,
  shape: { rows: number; out: number; columns: number },
  count = 10,
): Promise<Timing> {
  const { rows, out, columns } = shape;
  const weights = await bench.filled(rowByteLength(variant.type, columns) * out, 5);
  const input = await bench.filled(rows * columns * 4, 6);
  const buffers = productBuffers(bench, weights, input, variant.type, shape);
  const record = await recorder(bench, variant, buffers, shape);
  const timing = await timeDispatches(bench.device, bench.timestamps, count, (pass) => record(pass));
  destroy(buffers);
  return timing;
}
