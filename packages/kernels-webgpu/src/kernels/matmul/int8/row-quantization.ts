import { StrataError } from '@strata/core';
import type { BufferBinding } from '../../../runtime/recorder.js';
import type { GpuRuntime } from '../../../runtime/runtime.js';
import { linearGrid, WGSL_LINEAR_GROUP } from '../../../runtime/shader.js';
import type { GpuTensor } from '../../../tensor/gpu-tensor.js';
import { workgroupReduction } from '../../wgsl/reduce.js';
import { INT8_BLOCK_COLUMNS } from './activation-quantization.js';
import { quantizeBlockWgsl, WGSL_ACTIVATION_QUANT } from './activation-quantization-shader.js';

// The input rows of a batched decode product as int8 blocks, with the RMS norm that product fuses: one workgroup per
// row. The quants, scales and sums are those `quantizeActivations` gives for the rows times the norm's gain (bit for
// bit: the same per-block arithmetic as the prefill quantizer); the norm's 1/√(mean(x²) + ε) of each row goes to its
// own buffer, for the product to scale its totals by (`rmsNorm(x) · g · w = inverse · Σ (x·g)·w`).

/** Invocations per workgroup (one workgroup per input row). */
const WORKGROUP = 64;

/** The RMS norm applied to the rows before they are quantized: the gain vector `[columns]` and ε. */
export interface RowQuantizationNorm {
  /** The `[columns]` gain (ones for a norm without weight). */
  readonly gain: BufferBinding;
  /** ε. */
  readonly epsilon: number;
}

/** Input rows quantized on the device by {@link quantizeRowsOnDevice}. */
export interface QuantizedRows {
  /** `[rows, columns / 4]`: 4 int8 quants per word, lowest byte first. */
  readonly quants: GpuTensor;
  /** f32 `[rows, columns / 32]`: the blocks' scales. */
  readonly scales: GpuTensor;
  /** i32 `[rows, columns / 32]`: the blocks' quant sums. */
  readonly sums: GpuTensor;
  /** f32 `[rows]`: each row's norm inverse, or undefined without a norm. */
  readonly inverses: GpuTensor | undefined;
}

function rowQuantizationWgsl(norm: boolean): string {
  return /* wgsl */ `
struct Params { rows: u32, columns: u32, blocks: u32, epsilon: f32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> quants: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read_write> scales: array<f32>;
@group(0) @binding(4) var<storage, read_write> sums: array<i32>;
${norm ? '@group(0) @binding(5) var<storage, read> gain: array<vec4<f32>>;\n@group(0) @binding(6) var<storage, read_write> inverses: array<f32>;' : ''}
${WGSL_LINEAR_GROUP}
${WGSL_ACTIVATION_QUANT}
${norm ? workgroupReduction(false, WORKGROUP).functions : ''}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let row = linear_group(group, groups);
  let base = row * params.columns / 4u;
${
  norm
    ? `  var squares = 0.0;
  for (var i = li; i < params.columns / 4u; i += ${WORKGROUP}u) { let x = input[base + i]; squares += dot(x, x); }
  let total = reduce_sum(squares, ${workgroupReduction(false, WORKGROUP).args});
  if (li == 0u) { inverses[row] = 1.0 / sqrt(total / f32(params.columns) + params.epsilon); }`
    : ''
}
  for (var block = li; block < params.blocks; block += ${WORKGROUP}u) {
    let first = base + block * 8u;
${quantizeBlockWgsl(`input[first + i]${norm ? ' * gain[block * 8u + i]' : ''}`, '    ')}
    scales[row * params.blocks + block] = d;
    sums[row * params.blocks + block] = sum;
  }
}
`;
}

/**
 * Records the quantization of `rows` rows of `input` (f32 `[rows, columns]`, columns a multiple of 32) into int8
 * blocks of 32, after multiplying them by `norm.gain` when a norm is given (whose per-row inverse it also writes).
 * One workgroup per row. The caller releases the returned tensors.
 */
export function quantizeRowsOnDevice(
  runtime: GpuRuntime,
  input: GpuTensor,
  rows: number,
  columns: number,
  norm?: RowQuantizationNorm,
): QuantizedRows {
  if (columns % INT8_BLOCK_COLUMNS !== 0 || columns === 0 || input.size < rows * columns) {
    throw new StrataError(
      'SHAPE_MISMATCH',
      `Int8 row quantization needs [rows, a multiple of 32], got ${rows} rows of ${columns} from [${input.shape.join(', ')}].`,
      { details: { rows, columns, input: [...input.shape] } },
    );
  }
  const blocks = columns / INT8_BLOCK_COLUMNS;
  const quants = runtime.allocate('i32', [rows, columns / 4]);
  const scales = runtime.allocate('f32', [rows, blocks]);
  const sums = runtime.allocate('i32', [rows, blocks]);
  const inverses = norm === undefined ? undefined : runtime.allocate('f32', [rows]);
  const uniforms = new Uint32Array([rows, columns, blocks, 0]);
  new Float32Array(uniforms.buffer, 12, 1)[0] = norm?.epsilon ?? 0;
  const withNorm = norm !== undefined && inverses !== undefined;
  runtime.dispatch({
    shader: {
      key: `int8-quantize-rows:norm=${withNorm ? 1 : 0}`,
      code: () => rowQuantizationWgsl(withNorm),
      storage: ['read', 'write', 'write', 'write', ...(withNorm ? (['read', 'write'] as const) : [])],
    },
    uniforms,
    buffers: [
      { tracked: input.tracked },
      { tracked: quants.tracked },
      { tracked: scales.tracked },
      { tracked: sums.tracked },
      ...(withNorm ? [norm.gain, { tracked: inverses.tracked }] : []),
    ],
    workgroups: linearGrid(rows),
  });
  return { quants, scales, sums, inverses };
}
