import { type PoolSequencesOptions, StrataError, type Tensor, validateSequenceBatch } from '@strata/core';
import type { GpuRuntime } from '../../runtime/runtime.js';
import { linearGrid, Uniforms, WGSL_LINEAR_GROUP } from '../../runtime/shader.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';

const WORKGROUP = 64;
const POOLING_CODES = { mean: 0, first: 1, last: 2 } as const;

/**
 * One row per sequence of a position-major batch: the mean of its real rows, its first row or its last real row. One
 * invocation per output element.
 */
export function poolSequences(runtime: GpuRuntime, hiddenValue: Tensor, options: PoolSequencesOptions): GpuTensor {
  const hidden = runtime.tensor(hiddenValue, 'f32', 'hidden');
  if (hidden.shape.length !== 2) {
    throw new StrataError('SHAPE_MISMATCH', `poolSequences needs [rows, width]; got [${hidden.shape.join(', ')}].`);
  }
  const [rows, columns] = hidden.shape as [number, number];
  const { sequences } = validateSequenceBatch(rows, options, 'poolSequences');
  const code = POOLING_CODES[options.pooling];
  if (code === undefined) {
    throw new StrataError(
      'INVALID_ARGUMENT',
      `poolSequences: pooling must be 'mean', 'first' or 'last'; got ${String(options.pooling)}.`,
    );
  }
  const output = runtime.allocate('f32', [sequences, columns]);
  if (columns === 0) return output;
  const lengths = runtime.upload(Int32Array.from(options.lengths), [sequences]);
  runtime.dispatch({
    shader: {
      key: 'encoder-pool-sequences',
      storage: ['read', 'read', 'write'],
      code: () => /* wgsl */ `struct Params { sequences: u32, columns: u32, pooling: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> hidden: array<f32>;
@group(0) @binding(2) var<storage, read> lengths: array<i32>;
@group(0) @binding(3) var<storage, read_write> destination: array<f32>;
${WGSL_LINEAR_GROUP}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) li: u32) {
  let index = linear_group(group, groups) * ${WORKGROUP}u + li;
  if (index >= params.sequences * params.columns) { return; }
  let sequence = index / params.columns;
  let column = index % params.columns;
  let length = u32(lengths[sequence]);
  if (params.pooling == 0u) {
    var sum = 0.0;
    for (var position = 0u; position < length; position++) {
      sum += hidden[(position * params.sequences + sequence) * params.columns + column];
    }
    destination[index] = sum / f32(length);
  } else {
    var position = 0u;
    if (params.pooling == 2u) { position = length - 1u; }
    destination[index] = hidden[(position * params.sequences + sequence) * params.columns + column];
  }
}`,
    },
    uniforms: new Uniforms().u(sequences).u(columns).u(code).words,
    buffers: [{ tracked: hidden.tracked }, { tracked: lengths.tracked }, { tracked: output.tracked }],
    workgroups: linearGrid(Math.ceil((sequences * columns) / WORKGROUP)),
  });
  runtime.release(lengths);
  return output;
}
