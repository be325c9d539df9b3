import type { GpuRuntime } from '../../runtime/runtime.js';
import { linearGrid, Uniforms, WGSL_LINEAR_GROUP } from '../../runtime/shader.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';

const WORKGROUP = 256;

/** Columns `[first, first + width)` of a 2-D tensor as a new `[rows, width]` tensor (any 4-byte dtype). */
export function copyColumns(runtime: GpuRuntime, source: GpuTensor, first: number, width: number): GpuTensor {
  const [rows = 0, columns = 0] = source.shape;
  const output = runtime.allocate(source.dtype, [rows, width]);
  const count = rows * width;
  if (count === 0) return output;
  runtime.dispatch({
    shader: {
      key: 'copy-columns',
      storage: ['read', 'write'],
      code: () => /* wgsl */ `
struct Params { count: u32, width: u32, columns: u32, first: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> source: array<u32>;
@group(0) @binding(2) var<storage, read_write> destination: array<u32>;
${WGSL_LINEAR_GROUP}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) li: u32) {
  let index = linear_group(group, groups) * ${WORKGROUP}u + li;
  if (index >= params.count) { return; }
  let row = index / params.width;
  let column = index - row * params.width;
  destination[index] = source[row * params.columns + params.first + column];
}`,
    },
    uniforms: new Uniforms().u(count).u(width).u(columns).u(first).words,
    buffers: [{ tracked: source.tracked }, { tracked: output.tracked }],
    workgroups: linearGrid(Math.ceil(count / WORKGROUP)),
  });
  return output;
}
