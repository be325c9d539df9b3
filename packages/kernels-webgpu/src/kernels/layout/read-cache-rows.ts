import { StrataError } from '@strata/core';
import type { GpuRuntime } from '../../runtime/runtime.js';
import { linearGrid, Uniforms, WGSL_LINEAR_GROUP } from '../../runtime/shader.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';
import { q8ScaleWordIndex, WGSL_Q8_READ } from '../attention/q8-cache-wgsl.js';

const WORKGROUP = 256;

/**
 * Rows `[start, start + count)` of an f16 or q8_0 KV cache tensor `[rows, columns]` as a new f32 tensor: the values a
 * read of the tensor gives (exact), one invocation per element.
 */
export function readCacheRows(runtime: GpuRuntime, source: GpuTensor, start: number, count: number): GpuTensor {
  const elements = source.dtype;
  if (elements !== 'f16' && elements !== 'q8_0') {
    throw new StrataError('DTYPE_MISMATCH', `readCacheRows reads f16 or q8_0 cache tensors, got ${elements}.`);
  }
  const [rows = 0, columns = 0] = source.shape;
  const output = runtime.allocate('f32', [count, columns]);
  const size = count * columns;
  if (size === 0) return output;
  // q8_0: the quants, then each row's scales (one word per 64 columns) after all of them (`storageBytes` in core).
  const value =
    elements === 'f16'
      ? 'half_value(extractBits(source[flat >> 1u], (flat & 1u) * 16u, 16u))'
      : `q8_element(source[flat >> 2u], column, source[${q8ScaleWordIndex('params.rows', 'params.columns', 'row', 'column')}])`;
  runtime.dispatch({
    shader: {
      key: `read-cache-rows:${elements}`,
      storage: ['read', 'write'],
      code: () => /* wgsl */ `
struct Params { count: u32, columns: u32, rows: u32, start: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> source: array<u32>;
@group(0) @binding(2) var<storage, read_write> destination: array<f32>;
${WGSL_LINEAR_GROUP}
${WGSL_Q8_READ}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) li: u32) {
  let index = linear_group(group, groups) * ${WORKGROUP}u + li;
  if (index >= params.count) { return; }
  let row = params.start + index / params.columns;
  let column = index % params.columns;
  let flat = row * params.columns + column;
  destination[index] = ${value};
}`,
    },
    uniforms: new Uniforms().u(size).u(columns).u(rows).u(start).words,
    buffers: [{ tracked: source.tracked }, { tracked: output.tracked }],
    workgroups: linearGrid(Math.ceil(size / WORKGROUP)),
  });
  return output;
}
