import { type RopeParameters, StrataError, type Tensor } from '@strata/core';
import type { GpuRuntime } from '../../runtime/runtime.js';
import { linearGrid, Uniforms, WGSL_LINEAR_GROUP } from '../../runtime/shader.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';

const WORKGROUP = 256;

/**
 * WGSL: `fn rope_sincos(theta: f32) -> vec2f` — (cos θ, sin θ) to about 1e-7 absolute for |θ| up to ~1.6e6, without
 * the built-in `cos`/`sin` (WGSL only asks those for about 2^-11 absolute, and SwiftShader uses that latitude).
 *
 * θ is reduced to r ∈ [−π/4, π/4] (a little wider where θ · 2/π rounds across a quadrant boundary) and a quadrant
 * k mod 4 by a Cody–Waite reduction: π/2 is split into three 14-bit f32 parts and a 24-bit tail, and k into a multiple
 * of 1024 and a remainder of at most 10 bits (both of k's sign), so every product k · part of the first three parts is exact and the
 * leading subtractions are exact; only the small tail sum and the last subtraction round (≲ 5e-8). cos r and sin r are
 * Taylor polynomials of degree 10 and 9, whose truncation error on |r| ≤ 0.9 is below 1e-8.
 */
export const WGSL_ROPE_SINCOS = /* wgsl */ `
fn rope_sincos(theta: f32) -> vec2f {
  let kf = round(theta * 0.63661977236758134);
  let k = i32(kf);
  let kl = f32(abs(k) & 1023) * sign(kf);
  let kh = kf - kl;
  var r = (theta - kh * 1.5706787109375) - kl * 1.5706787109375;
  r = r - kh * 1.1761486530303955e-4;
  let tail = ((kl * 1.1761486530303955e-4 + kh * 9.9203134595882148e-10) + kl * 9.9203134595882148e-10) + kf * 6.2233719696699885e-14;
  r = r - tail;
  let z = r * r;
  let s = r + r * z * (-1.6666666666666666e-1 + z * (8.3333333333333333e-3 + z * (-1.9841269841269841e-4 + z * 2.7557319223985891e-6)));
  let c = 1.0 - 0.5 * z + z * z * (4.1666666666666667e-2 + z * (-1.3888888888888889e-3 + z * (2.4801587301587302e-5 + z * -2.7557319223985891e-7)));
  switch (k & 3) {
    case 0: { return vec2f(c, s); }
    case 1: { return vec2f(-s, c); }
    case 2: { return vec2f(-c, -s); }
    default: { return vec2f(s, -c); }
  }
}
`;

/**
 * WGSL statements shared by the RoPE kernels: from `index` (the element's index in a row-major tensor), `dimension`
 * (its index within its head) and `row`, they define `second` (the element is the second of its pair), `partner` (the
 * other element's index) and `cs` (cos θ, sin θ scaled by `params.factor`, θ = position · frequency rounded to f32 as
 * PyTorch and the CPU backend compute it). Needs `params.rotary_dimensions`, `params.factor`, `params.zero` (a uniform
 * zero) and a `frequencies` array, plus {@link WGSL_ROPE_SINCOS}; `position` is the WGSL expression of the element's
 * position (default `params.first_position + row`: consecutive rows from a uniform position).
 */
export function ropeRotationWgsl(adjacent: boolean, position = 'params.first_position + row'): string {
  const pairing = adjacent
    ? `let pair = dimension / 2u;
  let second = (dimension & 1u) == 1u;
  let partner = select(index + 1u, index - 1u, second);`
    : `let half = params.rotary_dimensions / 2u;
  let second = dimension >= half;
  let pair = select(dimension, dimension - half, second);
  let partner = select(index + half, index - half, second);`;
  // xor with a uniform zero keeps the compiler from contracting the product into the reduction's first subtraction.
  return `${pairing}
  let product = f32(${position}) * frequencies[pair];
  let theta = bitcast<f32>(bitcast<u32>(product) ^ params.zero);
  let cs = rope_sincos(theta) * params.factor;`;
}

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
  const uniformsAt = (position: number) =>
    new Uniforms()
      .u(count)
      .u(columns)
      .u(parameters.headDimensions)
      .u(parameters.rotaryDimensions)
      .u(position)
      .f(parameters.attentionFactor)
      .u(0).words;
  runtime.dispatch({
    shader: {
      key: `rope:${parameters.pairing}`,
      storage: ['read', 'read', 'write'],
      code: () => /* wgsl */ `
struct Params { count: u32, columns: u32, head_dimensions: u32, rotary_dimensions: u32, first_position: u32, factor: f32, zero: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> source: array<f32>;
@group(0) @binding(2) var<storage, read> frequencies: array<f32>;
@group(0) @binding(3) var<storage, read_write> destination: array<f32>;
${WGSL_LINEAR_GROUP}
${WGSL_ROPE_SINCOS}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) li: u32) {
  let index = linear_group(group, groups) * ${WORKGROUP}u + li;
  if (index >= params.count) { return; }
  let row = index / params.columns;
  let dimension = (index - row * params.columns) % params.head_dimensions;
  let x = source[index];
  if (dimension >= params.rotary_dimensions) { destination[index] = x; return; }
  ${ropeRotationWgsl(adjacent)}
  let c = cs.x;
  let s = cs.y;
  let y = source[partner];
  destination[index] = select(x * c - y * s, x * c + y * s, second);
}`,
    },
    uniforms: uniformsAt(firstPosition),
    position: { firstPosition, uniforms: uniformsAt },
    buffers: [
      { tracked: source.tracked },
      { tracked: runtime.constant(parameters.inverseFrequencies) },
      { tracked: output.tracked },
    ],
    workgroups: linearGrid(Math.ceil(count / WORKGROUP)),
  });
  return output;
}
