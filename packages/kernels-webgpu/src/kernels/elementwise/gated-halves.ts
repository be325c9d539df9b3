import type { ActivationKind } from '@strata/core';
import type { GpuRuntime } from '../../runtime/runtime.js';
import { linearGrid, Uniforms, WGSL_LINEAR_GROUP } from '../../runtime/shader.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';
import { activationFunction, WGSL_MATH } from '../wgsl/math.js';

const WORKGROUP = 256;

/**
 * `activation(gate) · up` of the two halves of each row of `source` `[rows, 2 · half]` (gate columns, then up columns):
 * a new `[rows, half]` tensor. The gated activation of a fused gate/up product without splitting it first (the
 * arithmetic of the gated element-wise kernel, so the same numbers).
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
      code: () => /* wgsl */ `
struct Params { count: u32, half: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> source: array<f32>;
@group(0) @binding(2) var<storage, read_write> destination: array<f32>;
${WGSL_MATH}
${WGSL_LINEAR_GROUP}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) li: u32) {
  let index = linear_group(group, groups) * ${WORKGROUP}u + li;
  if (index >= params.count) { return; }
  let row = index / params.half;
  let gate = row * 2u * params.half + index % params.half;
  let x = source[gate];
  let y = source[gate + params.half];
  destination[index] = ${activationFunction(kind)}(x) * y;
}`,
    },
    uniforms: new Uniforms().u(output.size).u(half).words,
    buffers: [{ tracked: source.tracked }, { tracked: output.tracked }],
    workgroups: linearGrid(Math.ceil(output.size / WORKGROUP)),
  });
  return output;
}
