import { WGSL_LINEAR_GROUP } from '../../../runtime/shader.js';
import { wgslFloatBits, wgslInt8QuantFunction } from '../../../wgsl/int8-quantization-wgsl.js';
import {
  ACTIVATION_SCALE_BITS,
  ACTIVATION_SCALE_FACTOR,
  SMALLEST_ACTIVATION_SCALE,
} from './activation-quantization.js';

/** Invocations per workgroup of the quantizer: one per block of 32 values. */
export const QUANTIZE_WORKGROUP_SIZE = 64;

/** Storage bindings (from 1): input rows (f32), quants (4 per word), scales (f32), sums (i32). */
export const QUANTIZE_STORAGE = ['read', 'write', 'write', 'write'] as const;

/** The cache key of the quantizer (`sums`: whether it writes the quant sums). */
export function quantizeActivationsKey(sums: boolean): string {
  return `int8-quantize-activations:sums=${sums ? 1 : 0}`;
}

/** Uniform words: `rows, columns, blocks` (blocks per row). */
export function quantizeActivationsUniforms(rows: number, columns: number): Uint32Array {
  return new Uint32Array([rows, columns, columns / 32]);
}

/**
 * WGSL: `activation_scale(amax)`, bit for bit the CPU reference's block scale (`activation-quantization.ts`): a
 * product (WGSL rounds products correctly; its division may be off by 2.5 ulp) rounded to 11 significant bits with
 * integer operations.
 */
export const WGSL_ACTIVATION_SCALE = /* wgsl */ `
fn activation_scale(amax: f32) -> f32 {
  let bits = bitcast<u32>(amax * bitcast<f32>(${wgslFloatBits(ACTIVATION_SCALE_FACTOR)}));
  let dropped = ${23 - (ACTIVATION_SCALE_BITS - 1)}u;
  let rounded = bitcast<f32>((bits + ((1u << (dropped - 1u)) - 1u) + ((bits >> dropped) & 1u)) & ~((1u << dropped) - 1u));
  return select(0.0, rounded, rounded >= bitcast<f32>(${wgslFloatBits(SMALLEST_ACTIVATION_SCALE)}));
}
`;

/**
 * WGSL: {@link WGSL_ACTIVATION_SCALE} and `activation_quant(x, d)`, both bit for bit the CPU reference. The quotient
 * `x / d` is only a candidate: `x` is compared with the midpoints `(q ± ½) · d`, exact in f32, and the candidate moved
 * by one where it was wrong, so ties go away from zero and near-ties land as on the CPU.
 */
export const WGSL_ACTIVATION_QUANT = /* wgsl */ `${WGSL_ACTIVATION_SCALE}${wgslInt8QuantFunction('activation_quant')}
`;

/**
 * WGSL statements quantizing the block of 32 values whose first `vec4` is `input[first]` (`load`: the expression of
 * `vec4` `i`, 0…7, of the block) into `quants[first / 4u]` and the next `vec4<u32>`, leaving its scale in `d` and its
 * quant sum in `sum` (`WGSL_ACTIVATION_QUANT` in scope; `indent` before each line).
 */
export function quantizeBlockWgsl(load: string, indent: string): string {
  return `var values: array<vec4<f32>, 8>;
var amax = 0.0;
for (var i = 0u; i < 8u; i++) {
  let value = ${load};
  values[i] = value;
  let magnitude = abs(value);
  amax = max(amax, max(max(magnitude.x, magnitude.y), max(magnitude.z, magnitude.w)));
}
let d = activation_scale(amax);
var sum = 0;
var words: array<u32, 8>;
for (var i = 0u; i < 8u; i++) {
  let value = values[i];
  let q = vec4<i32>(activation_quant(value.x, d), activation_quant(value.y, d), activation_quant(value.z, d),
    activation_quant(value.w, d));
  sum += q.x + q.y + q.z + q.w;
  words[i] = pack4xI8(q);
}
quants[first / 4u] = vec4<u32>(words[0], words[1], words[2], words[3]);
quants[first / 4u + 1u] = vec4<u32>(words[4], words[5], words[6], words[7]);`
    .split('\n')
    .map((line) => `${indent}${line}`)
    .join('\n');
}

/**
 * WGSL of the quantizer: one invocation per block of 32 values of a row (`linearGrid(ceil(rows · blocks / 64))`
 * workgroups): the block's largest magnitude, its scale, 32 quants packed 4 per word (lowest byte first) into 8 words
 * at word `(row · columns + 32 · block) / 4`, the scale at `row · blocks + block`, and (when `sums`) the quants' sum.
 */
export function quantizeActivationsWgsl(sums: boolean): string {
  return /* wgsl */ `
struct Params { rows: u32, columns: u32, blocks: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> quants: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read_write> scales: array<f32>;
@group(0) @binding(4) var<storage, read_write> sums: array<i32>;
${WGSL_LINEAR_GROUP}
${WGSL_ACTIVATION_QUANT}
@compute @workgroup_size(${QUANTIZE_WORKGROUP_SIZE})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let index = linear_group(group, groups) * ${QUANTIZE_WORKGROUP_SIZE}u + li;
  if (index >= params.rows * params.blocks) { return; }
  let row = index / params.blocks;
  let block = index % params.blocks;
  let first = (row * params.columns + block * 32u) / 4u;
${quantizeBlockWgsl('input[first + i]', '  ')}
  scales[index] = d;${sums ? '\n  sums[index] = sum;' : ''}
}
`;
}
