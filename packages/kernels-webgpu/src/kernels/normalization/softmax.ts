import type { Tensor } from '@strata/core';
import type { GpuRuntime } from '../../runtime/runtime.js';
import { Uniforms } from '../../runtime/shader.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';
import { dispatchRowReduction, rowsAndColumns } from './norms.js';

/** Softmax over the last dimension (one workgroup per row: max, then sum of exponentials). */
export function softmax(runtime: GpuRuntime, input: Tensor): GpuTensor {
  const source = runtime.tensor(input, 'f32', 'input');
  const { rows, columns } = rowsAndColumns(source);
  const output = runtime.allocate('f32', source.shape);
  if (rows === 0) return output;
  dispatchRowReduction(runtime, rows, columns, {
    key: 'softmax',
    storage: ['read', 'write'],
    declarations: /* wgsl */ `struct Params { rows: u32, columns: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> source: array<f32>;
@group(0) @binding(2) var<storage, read_write> destination: array<f32>;`,
    body: (size, args) => /* wgsl */ `var best = -3.402823e38;
  for (var column = li; column < params.columns; column += ${size}u) { best = max(best, source[base + column]); }
  let top = reduce_max(best, ${args});
  var total = 0.0;
  for (var column = li; column < params.columns; column += ${size}u) {
    let e = exp(source[base + column] - top);
    destination[base + column] = e;
    total += e;
  }
  let inverse = 1.0 / reduce_sum(total, ${args});
  for (var column = li; column < params.columns; column += ${size}u) { destination[base + column] *= inverse; }`,
    uniforms: new Uniforms().u(rows).u(columns).words,
    buffers: [{ tracked: source.tracked }, { tracked: output.tracked }],
  });
  return output;
}
