import { type SelfAttentionOptions, StrataError, type Tensor, validateSequenceBatch } from '@strata/core';
import type { GpuRuntime } from '../../runtime/runtime.js';
import { linearGrid, Uniforms, WGSL_LINEAR_GROUP } from '../../runtime/shader.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';
import { workgroupReduction } from '../wgsl/reduce.js';

/** Invocations per workgroup; also the key tile of the second pass. */
const WORKGROUP = 64;

/**
 * Self-attention of a position-major padded batch (no cache): one workgroup per (row, head). Pass one finds the
 * largest visible score (each invocation a strided share of the keys); pass two walks the keys in tiles of 64, each
 * invocation computing one tile weight exp(score − max) into shared memory and then accumulating its output
 * dimensions over the tile. A simple kernel for short inputs (encoders), not a tuned one.
 */
export function selfAttention(
  runtime: GpuRuntime,
  queriesValue: Tensor,
  keysValue: Tensor,
  valuesValue: Tensor,
  options: SelfAttentionOptions,
): GpuTensor {
  const queries = runtime.tensor(queriesValue, 'f32', 'queries');
  const keys = runtime.tensor(keysValue, 'f32', 'keys');
  const values = runtime.tensor(valuesValue, 'f32', 'values');
  const { heads, keyValueHeads, headDimensions, scale, causal } = options;
  const rows = queries.shape[0] ?? 0;
  const columns = queries.shape[1] ?? 0;
  const width = keyValueHeads * headDimensions;
  if (
    queries.shape.length !== 2 ||
    !(heads > 0 && keyValueHeads > 0 && headDimensions > 0 && heads % keyValueHeads === 0) ||
    columns !== heads * headDimensions ||
    keys.size !== rows * width ||
    values.size !== rows * width
  ) {
    throw new StrataError(
      'SHAPE_MISMATCH',
      `selfAttention: queries [${queries.shape.join(', ')}], keys [${keys.shape.join(', ')}] and values [${values.shape.join(', ')}] do not fit ${heads} heads / ${keyValueHeads} key/value heads of ${headDimensions}.`,
    );
  }
  const { sequences } = validateSequenceBatch(rows, options, 'selfAttention');
  const output = runtime.allocate('f32', [rows, columns]);
  if (rows === 0) return output;
  const lengths = runtime.upload(Int32Array.from(options.lengths), [sequences]);
  const subgroups = runtime.features.subgroups;
  const reduction = workgroupReduction(subgroups, WORKGROUP);
  const perInvocation = Math.ceil(headDimensions / WORKGROUP);
  runtime.dispatch({
    shader: {
      key: `encoder-self-attention:hd=${headDimensions}:sg=${subgroups ? 1 : 0}`,
      storage: ['read', 'read', 'read', 'read', 'write'],
      code: () => /* wgsl */ `${reduction.enable}
struct Params { rows: u32, heads: u32, key_value_heads: u32, sequences: u32, causal: u32, scale: f32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> queries: array<f32>;
@group(0) @binding(2) var<storage, read> keys: array<f32>;
@group(0) @binding(3) var<storage, read> values: array<f32>;
@group(0) @binding(4) var<storage, read> lengths: array<i32>;
@group(0) @binding(5) var<storage, read_write> destination: array<f32>;
const HD = ${headDimensions}u;
const WG = ${WORKGROUP}u;
var<workgroup> tile_weights: array<f32, ${WORKGROUP}>;
${reduction.functions}
${WGSL_LINEAR_GROUP}
fn score(query_base: u32, key_base: u32) -> f32 {
  var dot = 0.0;
  for (var d = 0u; d < HD; d++) { dot += queries[query_base + d] * keys[key_base + d]; }
  return dot * params.scale;
}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) li: u32${reduction.builtins}) {
  let linear = linear_group(group, groups);
  let row = linear / params.heads;
  let head = linear % params.heads;
  if (row >= params.rows) { return; }
  let sequence = row % params.sequences;
  let position = row / params.sequences;
  let length = u32(lengths[sequence]);
  var visible = length;
  if (params.causal != 0u) { visible = min(position + 1u, length); }
  let width = params.key_value_heads * HD;
  let query_base = row * params.heads * HD + head * HD;
  let head_offset = (head / (params.heads / params.key_value_heads)) * HD;
  var best = -3.402823e38;
  for (var k = li; k < visible; k += WG) {
    best = max(best, score(query_base, (k * params.sequences + sequence) * width + head_offset));
  }
  let top = reduce_max(best, ${reduction.args});
  var total = 0.0;
  var accumulators: array<f32, ${perInvocation}>;
  for (var first = 0u; first < visible; first += WG) {
    let k = first + li;
    var weight = 0.0;
    if (k < visible) {
      weight = exp(score(query_base, (k * params.sequences + sequence) * width + head_offset) - top);
    }
    total += weight;
    workgroupBarrier();
    tile_weights[li] = weight;
    workgroupBarrier();
    let count = min(WG, visible - first);
    for (var slot = 0u; slot < ${perInvocation}u; slot++) {
      let d = li + slot * WG;
      if (d < HD) {
        var sum = accumulators[slot];
        for (var j = 0u; j < count; j++) {
          sum += tile_weights[j] * values[((first + j) * params.sequences + sequence) * width + head_offset + d];
        }
        accumulators[slot] = sum;
      }
    }
  }
  let inverse = 1.0 / reduce_sum(total, ${reduction.args});
  for (var slot = 0u; slot < ${perInvocation}u; slot++) {
    let d = li + slot * WG;
    if (d < HD) { destination[query_base + d] = accumulators[slot] * inverse; }
  }
}`,
    },
    uniforms: new Uniforms()
      .u(rows)
      .u(heads)
      .u(keyValueHeads)
      .u(sequences)
      .u(causal ? 1 : 0)
      .f(scale).words,
    buffers: [
      { tracked: queries.tracked },
      { tracked: keys.tracked },
      { tracked: values.tracked },
      { tracked: lengths.tracked },
      { tracked: output.tracked },
    ],
    workgroups: linearGrid(rows * heads),
  });
  runtime.release(lengths);
  return output;
}
