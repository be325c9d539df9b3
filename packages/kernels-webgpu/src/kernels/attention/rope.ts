import { type RopeParameters, StrataError, type Tensor } from '@strata/core';
import type { GpuRuntime } from '../../runtime/runtime.js';
import { linearGrid, Uniforms, WGSL_LINEAR_GROUP } from '../../runtime/shader.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';

const WORKGROUP = 256;

/**
 * WGSL: `fn rope_angle(position: u32, frequency: f32) -> f32` — position · frequency in f32 (as PyTorch computes it),
 * reduced to [−π, π] with a two-part 2π so cos/sin stay accurate at large positions.
 */
export const WGSL_ROPE_ANGLE = /* wgsl */ `
fn rope_angle(position: u32, frequency: f32) -> f32 {
  let theta = f32(position) * frequency;
  let turns = round(theta * 0.15915494309189535);
  return (theta - turns * 6.28125) - turns * 0.0019353071795864769;
}
`;

/** Checks RoPE parameters against an input `[rows, heads · headDimensions]`; returns the head count. */
export function ropeHeads(source: GpuTensor, parameters: RopeParameters): number {
  const columns = source.shape[1] ?? 0;
  const { headDimensions, rotaryDimensions } = parameters;
  if (
    source.shape.length !== 2 ||
    headDimensions <= 0 ||
    columns % headDimensions !== 0 ||
    rotaryDimensions % 2 !== 0 ||
    rotaryDimensions > headDimensions ||
    parameters.inverseFrequencies.length < rotaryDimensions / 2
  ) {
    throw new StrataError(
      'SHAPE_MISMATCH',
      `rope: input [${source.shape.join(', ')}] with head size ${headDimensions}, ${rotaryDimensions} rotary dimensions and ${parameters.inverseFrequencies.length} frequencies do not fit.`,
    );
  }
  return columns / headDimensions;
}

/** Rotary embedding of `[rows, heads · headDimensions]` at positions `firstPosition + row` (one invocation per element). */
export function rope(runtime: GpuRuntime, input: Tensor, firstPosition: number, parameters: RopeParameters): GpuTensor {
  const source = runtime.tensor(input, 'f32', 'input');
  ropeHeads(source, parameters);
  const output = runtime.allocate('f32', source.shape);
  const count = source.size;
  if (count === 0) return output;
  const columns = source.shape[1]!;
  const adjacent = parameters.pairing === 'adjacent';
  runtime.dispatch({
    shader: {
      key: `rope:${parameters.pairing}`,
      storage: ['read', 'read', 'write'],
      code: () => /* wgsl */ `
struct Params { count: u32, columns: u32, head_dimensions: u32, rotary_dimensions: u32, first_position: u32, factor: f32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> source: array<f32>;
@group(0) @binding(2) var<storage, read> frequencies: array<f32>;
@group(0) @binding(3) var<storage, read_write> destination: array<f32>;
${WGSL_LINEAR_GROUP}
${WGSL_ROPE_ANGLE}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) li: u32) {
  let index = linear_group(group, groups) * ${WORKGROUP}u + li;
  if (index >= params.count) { return; }
  let row = index / params.columns;
  let dimension = (index - row * params.columns) % params.head_dimensions;
  let x = source[index];
  if (dimension >= params.rotary_dimensions) { destination[index] = x; return; }
  ${
    adjacent
      ? `let pair = dimension / 2u;
  let second = (dimension & 1u) == 1u;
  let partner = select(index + 1u, index - 1u, second);`
      : `let half = params.rotary_dimensions / 2u;
  let second = dimension >= half;
  let pair = select(dimension, dimension - half, second);
  let partner = select(index + half, index - half, second);`
  }
  let angle = rope_angle(params.first_position + row, frequencies[pair]);
  let c = cos(angle) * params.factor;
  let s = sin(angle) * params.factor;
  let y = source[partner];
  destination[index] = select(x * c - y * s, x * c + y * s, second);
}`,
    },
    uniforms: new Uniforms()
      .u(count)
      .u(columns)
      .u(parameters.headDimensions)
      .u(parameters.rotaryDimensions)
      .u(firstPosition)
      .f(parameters.attentionFactor).words,
    buffers: [
      { tracked: source.tracked },
      { tracked: runtime.constant(parameters.inverseFrequencies) },
      { tracked: output.tracked },
    ],
    workgroups: linearGrid(Math.ceil(count / WORKGROUP)),
  });
  return output;
}
