import { StrataError, type Tensor } from '@strata/core';
import type { GpuRuntime } from '../../runtime/runtime.js';
import { Uniforms } from '../../runtime/shader.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';
import { dispatchRowReduction, rowsAndColumns } from '../normalization/norms.js';

/** Index of the largest value of each row: i32 `[rows]`, the first index on ties (one workgroup per row). */
export function argmax(runtime: GpuRuntime, input: Tensor): GpuTensor {
  const source = runtime.tensor(input, 'f32', 'input');
  const { rows, columns } = rowsAndColumns(source);
  if (source.shape.length < 1 || columns === 0) {
    throw new StrataError('SHAPE_MISMATCH', `argmax: rows of [${source.shape.join(', ')}] are empty.`);
  }
  const output = runtime.allocate('i32', [rows]);
  if (rows === 0) return output;
  dispatchRowReduction(runtime, rows, columns, {
    key: 'argmax',
    storage: ['read', 'write'],
    declarations: /* wgsl */ `struct Params { rows: u32, columns: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> source: array<f32>;
@group(0) @binding(2) var<storage, read_write> destination: array<i32>;`,
    body: (size, args) => /* wgsl */ `var best = -3.402823e38;
  var best_index = 0xffffffffu;
  for (var column = li; column < params.columns; column += ${size}u) {
    let value = source[base + column];
    if (best_index == 0xffffffffu || value > best) { best = value; best_index = column; }
  }
  let top = reduce_max(best, ${args});
  let index = reduce_min_u(select(0xffffffffu, best_index, best == top && best_index != 0xffffffffu), ${args});
  if (li == 0u) { destination[row] = i32(select(index, 0u, index == 0xffffffffu)); }`,
    uniforms: new Uniforms().u(rows).u(columns).words,
    buffers: [{ tracked: source.tracked }, { tracked: output.tracked }],
  });
  return output;
}
