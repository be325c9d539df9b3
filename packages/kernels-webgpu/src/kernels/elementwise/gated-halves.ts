import type { ActivationKind } from '@strata/core';
import type { GpuRuntime } from '../../runtime/runtime.js';
import { linearGrid, Uniforms } from '../../runtime/shader.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';
import { ELEMENTWISE_WORKGROUP as WORKGROUP, elementwiseKernelWgsl, gatedExpression } from './elementwise.js';

/**
 * `activation(gate) · up` of the two halves of each row of `source` `[rows, 2 · half]` (gate columns, then up columns):
 * a new `[rows, half]` tensor. The gated activation of a fused gate/up product without splitting it first (the
 * gated element-wise kernel's expression in its skeleton, so the same numbers).
 */
export function gatedHalves(runtime: GpuRuntime, source: GpuTensor, kind: ActivationKind): GpuTensor {
  const columns = source.shape[source.shape.length - 1] ?? 0;
  const half = columns / 2;
  const output = runtime.allocate('f32', [...source.shape.slice(0, -1), half]);
  if (output.size === 0) return output;
  runtime.dispatch({
    shader: {
      key: `gated-halves:${kind}`,
      storage: ['read', 'write'],
      code: () =>
        elementwiseKernelWgsl(
          `struct Params { count: u32, half: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> source: array<f32>;
@group(0) @binding(2) var<storage, read_write> destination: array<f32>;`,
          `  let row = index / params.half;
  let gate = row * 2u * params.half + index % params.half;
  let x = source[gate];
  let y = source[gate + params.half];
  destination[index] = ${gatedExpression(kind)};`,
        ),
    },
    uniforms: new Uniforms().u(output.size).u(half).words,
    buffers: [{ tracked: source.tracked }, { tracked: output.tracked }],
    workgroups: linearGrid(Math.ceil(output.size / WORKGROUP)),
  });
  return output;
}
