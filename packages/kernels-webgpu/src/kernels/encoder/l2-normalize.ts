import { StrataError, type Tensor } from '@strata/core';
import type { GpuRuntime } from '../../runtime/runtime.js';
import { Uniforms } from '../../runtime/shader.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';
import { dispatchRowReduction, rowsAndColumns } from '../normalization/norms.js';

/** Each row divided by max(‖row‖₂, epsilon), one workgroup per row. */
export function l2Normalize(runtime: GpuRuntime, input: Tensor, epsilon: number): GpuTensor {
  if (!(epsilon >= 0)) {
    throw new StrataError('INVALID_ARGUMENT', `l2Normalize needs a non-negative epsilon, got ${epsilon}.`);
  }
  const source = runtime.tensor(input, 'f32', 'input');
  const { rows, columns } = rowsAndColumns(source);
  const output = runtime.allocate('f32', source.shape);
  if (rows === 0) return output;
  dispatchRowReduction(runtime, rows, columns, {
    key: 'encoder-l2-normalize',
    storage: ['read', 'write'],
    declarations: /* wgsl */ `struct Params { rows: u32, columns: u32, epsilon: f32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> source: array<f32>;
@group(0) @binding(2) var<storage, read_write> destination: array<f32>;`,
    body: (size, args) => /* wgsl */ `var squares = 0.0;
  for (var column = li; column < params.columns; column += ${size}u) { let x = source[base + column]; squares += x * x; }
  let inverse = 1.0 / max(sqrt(reduce_sum(squares, ${args})), params.epsilon);
  for (var column = li; column < params.columns; column += ${size}u) { destination[base + column] = source[base + column] * inverse; }`,
    uniforms: new Uniforms().u(rows).u(columns).f(epsilon).words,
    buffers: [{ tracked: source.tracked }, { tracked: output.tracked }],
  });
  return output;
}
